import { AiModule } from '@app/ai';
import { Message } from '@app/database';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { MemoryJobsModule } from '../memory-jobs/memory-jobs.module';
import { SessionsModule } from '../sessions/sessions.module';
import { ChatController } from './chat.controller';
import { ChatRepository } from './chat.repository';
import { ChatService } from './chat.service';

@Module({
  imports: [AiModule, MemoryJobsModule, SessionsModule, TypeOrmModule.forFeature([Message])],
  controllers: [ChatController],
  providers: [ChatRepository, ChatService],
})
export class ChatModule {}
