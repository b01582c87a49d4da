import { DomainError, ErrorCode } from '@app/common';
import { ChatSession, Message, Statements, Transactions } from '@app/database';
import { MemoryJobsService, NewMemoryJob } from '@app/memory-jobs';
import { MessagesRepository } from '@app/messages';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

import { UsersService } from '../users/users.service';

/**
 * A turn's two writes. Each takes its locks in the documented order (docs/architecture.md,
 * "Locking rules"): the user row (shared), then the session row (exclusive, by the update of its
 * activity time, or by inserting it), then the new rows. Two turns in one session therefore queue
 * on the session row instead of deadlocking, and a user or session deleted meanwhile is seen
 * before anything is written: 401 or 404, never a foreign-key error.
 */
@Injectable()
export class ChatRepository {
  constructor(
    private readonly tx: Transactions,
    private readonly users: UsersService,
    private readonly messages: MessagesRepository,
    private readonly jobs: MemoryJobsService,
    private readonly statements: Statements,
  ) {}

  /** The user's message, in `newSession` (created with it) or in its existing session. */
  async saveQuestion(message: Message, newSession?: ChatSession): Promise<void> {
    await this.tx.run('chat.saveQuestion', async (manager) => {
      await this.holdParents(manager, message, newSession);
      await this.messages.append(manager, message);
    });
  }

  /** The reply and its extraction job: all or nothing (the job's worker is woken on commit). */
  async saveReply(reply: Message, job: NewMemoryJob): Promise<void> {
    await this.tx.run('chat.saveReply', async (manager) => {
      await this.holdParents(manager, reply);
      await this.messages.append(manager, reply);
      await this.jobs.enqueue(manager, job, reply.createdAt);
    });
  }

  /**
   * Takes back a question whose reply could not be stored (the database stayed busy), so that
   * the session never holds half a turn; the client is told to send it again.
   */
  async withdrawQuestion(message: Message): Promise<void> {
    await this.tx.write('chat.withdrawQuestion', (manager) =>
      this.messages.deleteInSession(manager, message.id, message.sessionId),
    );
  }

  private async holdParents(
    manager: EntityManager,
    message: Message,
    newSession?: ChatSession,
  ): Promise<void> {
    await this.users.holdActive(manager, message.userId);
    if (newSession) {
      await manager.insert(ChatSession, newSession);
      return;
    }
    // Every turn runs it twice: a prepared statement rather than TypeORM's query builder.
    const touched = await this.statements.runIn(
      manager,
      this.statements.sql(
        'UPDATE {chat_sessions} SET {updated_at} = ? WHERE {id} = ? AND {user_id} = ?',
      ),
      [
        this.statements.value(ChatSession, 'updatedAt', message.createdAt),
        message.sessionId,
        message.userId,
      ],
    );
    if (!touched.affected) throw new DomainError(ErrorCode.SessionNotFound, 'Session not found');
  }
}
