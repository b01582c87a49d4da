import { AiModule } from '@app/ai';
import { MemoryJobsModule } from '@app/memory-jobs';
import { MessagesModule } from '@app/messages';
import { Module } from '@nestjs/common';

import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { ChatController } from './chat.controller';
import { ChatRepository } from './chat.repository';
import { ChatService } from './chat.service';
import { CompletionsService } from './openai/completions.service';
import { OpenAiController } from './openai/openai.controller';

@Module({
  imports: [AiModule, MemoryJobsModule, MessagesModule, SessionsModule, UsersModule],
  controllers: [ChatController, OpenAiController],
  providers: [ChatRepository, ChatService, CompletionsService],
})
export class ChatModule {}
