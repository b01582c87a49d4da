import { AiModule } from '@app/ai';
import { MemoryJob } from '@app/database';
import { MessagesModule } from '@app/messages';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { FactConflictResolver } from './conflicts/fact-conflict.resolver';
import { MemoryExtractionService } from './memory-extraction.service';
import { MemoryJobWorker } from './memory-job.worker';
import { MemoryJobsRepository } from './memory-jobs.repository';
import { MemoryJobsService } from './memory-jobs.service';

@Module({
  imports: [AiModule, MessagesModule, TypeOrmModule.forFeature([MemoryJob])],
  providers: [
    FactConflictResolver,
    MemoryExtractionService,
    MemoryJobWorker,
    MemoryJobsRepository,
    MemoryJobsService,
  ],
  exports: [MemoryJobsService],
})
export class MemoryJobsModule {}
