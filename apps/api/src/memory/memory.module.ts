import { AiModule } from '@app/ai';
import { MemoryJobsModule } from '@app/memory-jobs';
import { Module } from '@nestjs/common';

import { MemoryController } from './memory.controller';
import { MemoryService } from './memory.service';

@Module({
  imports: [AiModule, MemoryJobsModule],
  controllers: [MemoryController],
  providers: [MemoryService],
})
export class MemoryModule {}
