import { DomainError, ErrorCode } from '@app/common';
import { ChatSession, countGrouped, isForeignKeyViolation, Transactions } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { ACCOUNT_GONE } from '../users/users.service';

@Injectable()
export class SessionsRepository {
  constructor(
    @InjectRepository(ChatSession) private readonly sessions: Repository<ChatSession>,
    private readonly tx: Transactions,
  ) {}

  /**
   * Newest activity first; the id breaks ties so that pages never overlap. Both descending, so
   * that one backward scan of the (user_id, updated_at) index reads the page, without a sort.
   */
  findPageForUser(userId: string, limit: number, offset: number): Promise<[ChatSession[], number]> {
    return this.sessions.findAndCount({
      where: { userId },
      order: { updatedAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
  }

  /** Every session of the user, oldest first; the id breaks ties. */
  findAllForUser(userId: string): Promise<ChatSession[]> {
    return this.sessions.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findByClientKey(userId: string, clientKey: string): Promise<ChatSession | null> {
    return this.sessions.findOneBy({ userId, clientKey });
  }

  findForUser(userId: string, sessionId: string): Promise<ChatSession | null> {
    return this.sessions.findOneBy({ id: sessionId, userId });
  }

  /** A user deleted since their request was authenticated is told so (401), not a 500. */
  async insert(session: ChatSession): Promise<ChatSession> {
    try {
      await this.tx.write('sessions.insert', (manager) => manager.insert(ChatSession, session));
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new DomainError(ErrorCode.AccountGone, ACCOUNT_GONE);
      throw error;
    }
    return session;
  }

  /** False when the user has no such session (any more). */
  async updateForUser(
    userId: string,
    sessionId: string,
    changes: Partial<Pick<ChatSession, 'title' | 'updatedAt'>>,
  ): Promise<boolean> {
    const result = await this.tx.write('sessions.update', (manager) =>
      manager.update(ChatSession, { id: sessionId, userId }, changes),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Deletes the session (its messages cascade) if the user owns it; false when nothing matched. */
  async deleteForUser(userId: string, sessionId: string): Promise<boolean> {
    const result = await this.tx.write('sessions.delete', (manager) =>
      manager.delete(ChatSession, { id: sessionId, userId }),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Session count per user id, in one grouped query. */
  countSessionsByUser(userIds: string[]): Promise<Map<string, number>> {
    return countGrouped(this.sessions, 'userId', userIds);
  }

  /**
   * Every user's sessions (or one user's), newest activity first, each with its owner's id and
   * username joined in the same query.
   */
  findPageWithOwners(
    filter: { userId?: string },
    limit: number,
    offset: number,
  ): Promise<[ChatSession[], number]> {
    const query = this.sessions
      .createQueryBuilder('session')
      .innerJoin('session.user', 'owner')
      .addSelect(['owner.id', 'owner.username'])
      .orderBy('session.updatedAt', 'DESC')
      .addOrderBy('session.id', 'DESC')
      // limit/offset, not take/skip: the join is many-to-one, so rows are sessions already.
      .limit(limit)
      .offset(offset);
    if (filter.userId) query.where('session.userId = :userId', { userId: filter.userId });
    return query.getManyAndCount();
  }
}
