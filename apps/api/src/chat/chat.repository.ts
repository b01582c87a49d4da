import { ChatSession, Message } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';

import { MemoryJobsRepository, NewMemoryJob } from '../memory-jobs/memory-jobs.repository';

@Injectable()
export class ChatRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
    private readonly jobs: MemoryJobsRepository,
  ) {}

  async insertMessage(message: Message): Promise<Message> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(Message, message);
      await manager.update(
        ChatSession,
        { id: message.sessionId },
        { updatedAt: message.createdAt },
      );
    });
    return message;
  }

  /** The reply, its extraction job and the session's activity time: all or nothing. */
  async saveReply(reply: Message, job: NewMemoryJob): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(Message, reply);
      await this.jobs.enqueue(manager, job, reply.createdAt);
      await manager.update(ChatSession, { id: reply.sessionId }, { updatedAt: reply.createdAt });
    });
  }

  findById(id: string): Promise<Message | null> {
    return this.messages.findOneBy({ id });
  }
}
