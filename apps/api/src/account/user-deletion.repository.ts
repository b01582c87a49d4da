import { Transactions, User, UserDeletion } from '@app/database';
import { MemoryJobsService } from '@app/memory-jobs';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

export type DeleteUserResult =
  | { outcome: 'deleted'; deletion: UserDeletion; extractionRunning: boolean }
  | { outcome: 'not_found' }
  | { outcome: 'last_admin' };

/**
 * The user row and the `user_deletions` queue. Deleting a user and recording the erasure still
 * owed happen in one transaction. Claims are optimistic (a conditional UPDATE on `attempts`), so
 * several processes can poll the queue without locks and never run one attempt twice.
 */
@Injectable()
export class UserDeletionRepository {
  constructor(
    @InjectRepository(UserDeletion) private readonly deletions: Repository<UserDeletion>,
    private readonly tx: Transactions,
    private readonly memoryJobs: MemoryJobsService,
  ) {}

  /**
   * Deletes the user (sessions, messages, memory jobs and revoked tokens cascade) and records the
   * pending erasure, claimed by the caller until `claimUntil`. With `keepAnAdmin`, an admin is
   * deleted only while another admin exists. User rows are locked first and in id order (the
   * locking rules): for an admin's own deletion every admin row, so that two admins deleting
   * themselves at once cannot both pass the last-admin check, nor deadlock.
   */
  deleteUser(
    userId: string,
    keepAnAdmin: boolean,
    deletion: Pick<UserDeletion, 'id' | 'runAt' | 'createdAt'>,
  ): Promise<DeleteUserResult> {
    return this.tx.run('users.delete', async (manager) => {
      const target = await manager.findOne(User, {
        select: { id: true, role: true },
        where: { id: userId },
      });
      if (!target) return { outcome: 'not_found' };
      const guardAdmins = keepAnAdmin && target.role === 'admin';
      const ids = guardAdmins ? await this.adminIds(manager, userId) : [userId];
      const locked = await this.lockUsers(manager, ids);
      const user = locked.find((u) => u.id === userId);
      if (!user) return { outcome: 'not_found' };
      const otherAdmin = locked.some((u) => u.id !== userId && u.role === 'admin');
      if (keepAnAdmin && user.role === 'admin' && !otherAdmin) return { outcome: 'last_admin' };
      const extractionRunning = await this.memoryJobs.isRunningFor(manager, userId);
      await manager.delete(User, { id: userId });
      const row: UserDeletion = {
        ...deletion,
        userId,
        status: 'pending',
        attempts: 1,
        lastError: null,
        updatedAt: deletion.createdAt,
      };
      await manager.insert(UserDeletion, row);
      return { outcome: 'deleted', deletion: row, extractionRunning };
    });
  }

  /** Pending deletions that are due, each claimed (one more attempt) until `claimUntil`. */
  async claimDue(limit: number, claimUntil: Date): Promise<UserDeletion[]> {
    const now = new Date();
    const due = await this.deletions
      .createQueryBuilder('d')
      .where('d.status = :status', { status: 'pending' })
      .andWhere('d.runAt <= :now', { now })
      .orderBy('d.status', 'ASC')
      .addOrderBy('d.runAt', 'ASC')
      .limit(limit)
      .getMany();
    const claimed: UserDeletion[] = [];
    for (const row of due) {
      const changes = { attempts: row.attempts + 1, runAt: claimUntil, updatedAt: now };
      const result = await this.tx.write('userDeletions.claim', (manager) =>
        manager.update(
          UserDeletion,
          { id: row.id, status: 'pending', attempts: row.attempts },
          changes,
        ),
      );
      if (result.affected === 1) claimed.push({ ...row, ...changes });
    }
    return claimed;
  }

  /** The erasure is done: the deletion leaves the queue (only if this attempt still holds it). */
  async complete(deletion: UserDeletion): Promise<void> {
    await this.tx.write('userDeletions.complete', (manager) =>
      manager.delete(UserDeletion, { id: deletion.id, attempts: deletion.attempts }),
    );
  }

  /** Due again at `retryAt`, or `failed` for good when retryAt is null. */
  async fail(deletion: UserDeletion, error: string, retryAt: Date | null): Promise<void> {
    await this.tx.write('userDeletions.fail', (manager) =>
      manager.update(
        UserDeletion,
        { id: deletion.id, attempts: deletion.attempts },
        {
          status: retryAt ? 'pending' : 'failed',
          runAt: retryAt ?? new Date(),
          lastError: error.slice(0, 1000),
          updatedAt: new Date(),
        },
      ),
    );
  }

  /** Leaves the deletion pending for one more pass at `runAt`, without counting a failure. */
  async reschedule(deletion: UserDeletion, runAt: Date, reason: string): Promise<void> {
    await this.tx.write('userDeletions.reschedule', (manager) =>
      manager.update(
        UserDeletion,
        { id: deletion.id, attempts: deletion.attempts },
        { runAt, lastError: reason, updatedAt: new Date() },
      ),
    );
  }

  /** The ids of every admin, and `userId`. */
  private async adminIds(manager: EntityManager, userId: string): Promise<string[]> {
    const admins = await manager.find(User, { select: { id: true }, where: { role: 'admin' } });
    return [...new Set([userId, ...admins.map((a) => a.id)])];
  }

  /** The rows, locked for update in id order (by primary key, so no other row is locked). */
  private lockUsers(manager: EntityManager, ids: string[]): Promise<User[]> {
    const query = manager
      .createQueryBuilder(User, 'u')
      .select(['u.id', 'u.role'])
      .where('u.id IN (:...ids)', { ids })
      .orderBy('u.id', 'ASC');
    // SQLite has no row locks: its writes run one at a time (see Transactions).
    if (manager.connection.options.type !== 'better-sqlite3') query.setLock('pessimistic_write');
    return query.getMany();
  }
}
