import { AiModule } from '@app/ai';
import { ChatSession, Message, UserDeletion } from '@app/database';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountRepository } from './account.repository';
import { AccountService } from './account.service';
import { AdminUserDeletionController } from './admin-user-deletion.controller';
import { UserDeletionRepository } from './user-deletion.repository';
import { UserDeletionWorker } from './user-deletion.worker';

@Module({
  imports: [AiModule, TypeOrmModule.forFeature([ChatSession, Message, UserDeletion]), UsersModule],
  controllers: [AccountController, AdminUserDeletionController],
  providers: [AccountRepository, AccountService, UserDeletionRepository, UserDeletionWorker],
  exports: [AccountService],
})
export class AccountModule {}
