import { AiModule } from '@app/ai';
import { MemoryJob, Message } from '@app/database';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { MemoryExtractionService } from './memory-extraction.service';
import { MemoryJobWorker } from './memory-job.worker';
import { MemoryJobsRepository } from './memory-jobs.repository';

@Module({
  imports: [AiModule, TypeOrmModule.forFeature([MemoryJob, Message])],
  providers: [MemoryExtractionService, MemoryJobWorker, MemoryJobsRepository],
  exports: [MemoryJobWorker, MemoryJobsRepository],
})
export class MemoryJobsModule {}
