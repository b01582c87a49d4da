import { MemoryJob, User, UserDeletion } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';

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
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(UserDeletion) private readonly deletions: Repository<UserDeletion>,
  ) {}

  /**
   * Deletes the user (sessions, messages, memory jobs and revoked tokens cascade) and records the
   * pending erasure, claimed by the caller until `claimUntil`. With `keepAnAdmin`, an admin is
   * deleted only while another admin exists; the admin rows are locked so that two admins
   * deleting themselves at once cannot both succeed.
   */
  deleteUser(
    userId: string,
    keepAnAdmin: boolean,
    deletion: Pick<UserDeletion, 'id' | 'runAt' | 'createdAt'>,
  ): Promise<DeleteUserResult> {
    return this.dataSource.transaction(async (manager) => {
      const user = await this.lockedUsers(manager).where('u.id = :userId', { userId }).getOne();
      if (!user) return { outcome: 'not_found' };
      if (keepAnAdmin && user.role === 'admin') {
        const admins = await this.lockedUsers(manager)
          .where('u.role = :role', { role: 'admin' })
          .getMany();
        if (!admins.some((a) => a.id !== userId)) return { outcome: 'last_admin' };
      }
      const extractionRunning = await manager.existsBy(MemoryJob, { userId, status: 'running' });
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
      const result = await this.deletions.update(
        { id: row.id, status: 'pending', attempts: row.attempts },
        changes,
      );
      if (result.affected === 1) claimed.push({ ...row, ...changes });
    }
    return claimed;
  }

  /** The erasure is done: the deletion leaves the queue (only if this attempt still holds it). */
  async complete(deletion: UserDeletion): Promise<void> {
    await this.deletions.delete({ id: deletion.id, attempts: deletion.attempts });
  }

  /** Due again at `retryAt`, or `failed` for good when retryAt is null. */
  async fail(deletion: UserDeletion, error: string, retryAt: Date | null): Promise<void> {
    await this.deletions.update(
      { id: deletion.id, attempts: deletion.attempts },
      {
        status: retryAt ? 'pending' : 'failed',
        runAt: retryAt ?? new Date(),
        lastError: error.slice(0, 1000),
        updatedAt: new Date(),
      },
    );
  }

  /** Leaves the deletion pending for one more pass at `runAt`, without counting a failure. */
  async reschedule(deletion: UserDeletion, runAt: Date, reason: string): Promise<void> {
    await this.deletions.update(
      { id: deletion.id, attempts: deletion.attempts },
      { runAt, lastError: reason, updatedAt: new Date() },
    );
  }

  private lockedUsers(manager: EntityManager) {
    const query = manager.createQueryBuilder(User, 'u');
    // SQLite serialises write transactions itself and has no row locks.
    return this.dataSource.options.type === 'better-sqlite3'
      ? query
      : query.setLock('pessimistic_write');
  }
}
