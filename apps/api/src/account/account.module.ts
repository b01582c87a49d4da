import { AiModule } from '@app/ai';
import { UserDeletion } from '@app/database';
import { MemoryJobsModule } from '@app/memory-jobs';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { ApiKeysModule } from '../api-keys/api-keys.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { UserDeletionRepository } from './user-deletion.repository';
import { UserDeletionWorker } from './user-deletion.worker';

@Module({
  imports: [
    AiModule,
    ApiKeysModule,
    MemoryJobsModule,
    SessionsModule,
    TypeOrmModule.forFeature([UserDeletion]),
    UsersModule,
  ],
  controllers: [AccountController],
  providers: [AccountService, UserDeletionRepository, UserDeletionWorker],
  exports: [AccountService],
})
export class AccountModule {}
