import { Module } from '@nestjs/common';

import { LlmClient } from './llm.client';
import { MemoryStore } from './memory.store';

@Module({
  providers: [LlmClient, MemoryStore],
  exports: [LlmClient, MemoryStore],
})
export class AiModule {}
