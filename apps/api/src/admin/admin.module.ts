import { MemoryJobsModule } from '@app/memory-jobs';
import { Module } from '@nestjs/common';

import { AccountModule } from '../account/account.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AdminMemoryJobsController } from './admin-memory-jobs.controller';
import { AdminSessionsController } from './admin-sessions.controller';
import { AdminUsersController } from './admin-users.controller';
import { AdminService } from './admin.service';

@Module({
  imports: [AccountModule, MemoryJobsModule, SessionsModule, UsersModule],
  controllers: [AdminMemoryJobsController, AdminSessionsController, AdminUsersController],
  providers: [AdminService],
})
export class AdminModule {}
