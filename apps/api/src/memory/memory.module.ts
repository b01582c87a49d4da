import { AiModule } from '@app/ai';
import { Module } from '@nestjs/common';

import { MemoryJobsModule } from '../memory-jobs/memory-jobs.module';
import { MemoryController } from './memory.controller';
import { MemoryService } from './memory.service';

@Module({
  imports: [AiModule, MemoryJobsModule],
  controllers: [MemoryController],
  providers: [MemoryService],
})
export class MemoryModule {}
