import { Module } from '@nestjs/common';

import { LlmClient } from './llm.client';
import { Mem0Client } from './mem0.client';
import { MemoryStore } from './memory.store';

/** Mem0Client stays inside: the rest of the application reaches Mem0 through MemoryStore. */
@Module({
  providers: [LlmClient, Mem0Client, MemoryStore],
  exports: [LlmClient, MemoryStore],
})
export class AiModule {}
