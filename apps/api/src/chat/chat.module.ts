import { AiModule } from '@app/ai';
import { Module } from '@nestjs/common';

import { MemoryJobsModule } from '../memory-jobs/memory-jobs.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { ChatController } from './chat.controller';
import { ChatRepository } from './chat.repository';
import { ChatService } from './chat.service';

@Module({
  imports: [AiModule, MemoryJobsModule, SessionsModule, UsersModule],
  controllers: [ChatController],
  providers: [ChatRepository, ChatService],
})
export class ChatModule {}
