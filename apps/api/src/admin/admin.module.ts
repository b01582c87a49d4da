import { MemoryJobsModule } from '@app/memory-jobs';
import { Module } from '@nestjs/common';

import { AccountModule } from '../account/account.module';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AdminApiKeysController } from './admin-api-keys.controller';
import { AdminMemoryJobsController } from './admin-memory-jobs.controller';
import { AdminSessionsController } from './admin-sessions.controller';
import { AdminUsersController } from './admin-users.controller';
import { AdminService } from './admin.service';

@Module({
  imports: [AccountModule, ApiKeysModule, MemoryJobsModule, SessionsModule, UsersModule],
  controllers: [
    AdminApiKeysController,
    AdminMemoryJobsController,
    AdminSessionsController,
    AdminUsersController,
  ],
  providers: [AdminService],
})
export class AdminModule {}
