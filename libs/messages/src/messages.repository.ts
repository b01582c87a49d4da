import { countGrouped, Message, Statements } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DeleteResult, EntityManager, In, Repository } from 'typeorm';

/**
 * The one way into the `messages` table. Writes take the manager of the caller's transaction
 * (Transactions.run or .write), so that a message is stored in the caller's lock order: after its
 * user and its session (docs/architecture.md, "Locking rules").
 */
@Injectable()
export class MessagesRepository {
  constructor(
    @InjectRepository(Message) private readonly messages: Repository<Message>,
    private readonly statements: Statements,
  ) {}

  /** Inserts inside the caller's transaction, whose parents (user, session) it already holds. */
  async append(manager: EntityManager, message: Message): Promise<void> {
    await this.statements.insertIn(manager, Message, message);
  }

  /** Deletes the message if it is still in that session. */
  deleteInSession(
    manager: EntityManager,
    messageId: string,
    sessionId: string,
  ): Promise<DeleteResult> {
    return manager.delete(Message, { id: messageId, sessionId });
  }

  countInSession(sessionId: string): Promise<number> {
    return this.messages.countBy({ sessionId });
  }

  /** Oldest first; the id breaks ties. */
  findPageInSession(
    sessionId: string,
    limit: number,
    offset: number,
  ): Promise<[Message[], number]> {
    return this.messages.findAndCount({
      where: { sessionId },
      order: { createdAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  /** The session's last `limit` messages, newest first. */
  findLastInSession(sessionId: string, limit: number): Promise<Message[]> {
    // Every turn reads it: a prepared statement (the limit is a setting, so the text is constant).
    const take = Math.max(1, Math.floor(limit));
    return this.statements.select(
      this.messages.manager,
      Message,
      this.statements.sql(
        `SELECT * FROM {messages} WHERE {session_id} = ? ORDER BY {created_at} DESC, {id} DESC LIMIT ${take}`,
      ),
      [sessionId],
    );
  }

  /** Every message of the user, oldest first; ids break ties. */
  findAllForUser(userId: string): Promise<Message[]> {
    return this.messages.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Those of the given messages that exist and are the user's, in no particular order. */
  findByIdsForUser(userId: string, ids: string[]): Promise<Message[]> {
    return this.messages.find({ where: { id: In(ids), userId } });
  }

  /** Message count per session id, in one grouped query. Sessions without messages are absent. */
  countBySession(sessionIds: string[]): Promise<Map<string, number>> {
    return countGrouped(this.messages, 'sessionId', sessionIds);
  }

  /** Message count per user id, in one grouped query. */
  countByUser(userIds: string[]): Promise<Map<string, number>> {
    return countGrouped(this.messages, 'userId', userIds);
  }
}
