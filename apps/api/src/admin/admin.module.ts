import { Module } from '@nestjs/common';

import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AdminUsersController } from './admin-users.controller';
import { AdminService } from './admin.service';

@Module({
  imports: [SessionsModule, UsersModule],
  controllers: [AdminUsersController],
  providers: [AdminService],
})
export class AdminModule {}
