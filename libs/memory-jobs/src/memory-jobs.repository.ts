import {
  isUniqueViolation,
  MemoryJob,
  MemoryJobStatus,
  Statements,
  Transactions,
  User,
} from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, In, LessThan, Repository } from 'typeorm';

export interface NewMemoryJob {
  id: string;
  userId: string;
  sessionId: string;
  messageId: string;
  replyId: string;
}

/**
 * The durable extraction queue. Claiming is safe across processes: on MySQL/MariaDB candidates
 * are locked with FOR UPDATE SKIP LOCKED in a READ COMMITTED transaction (ordered by the
 * (status, run_at) index); on SQLite each claim is one atomic conditional UPDATE. Either way the
 * unique `running_user_id` lets only one job per user run at a time.
 */
@Injectable()
export class MemoryJobsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(MemoryJob) private readonly jobs: Repository<MemoryJob>,
    private readonly tx: Transactions,
    private readonly statements: Statements,
  ) {}

  /** Inserts inside the caller's transaction, so the job exists exactly when the reply does. */
  async enqueue(manager: EntityManager, job: NewMemoryJob, now: Date): Promise<void> {
    await this.statements.insertIn<MemoryJob>(manager, MemoryJob, {
      ...job,
      status: 'pending',
      attempts: 0,
      runAt: now,
      leaseUntil: null,
      lockedBy: null,
      runningUserId: null,
      lastError: null,
      createdAt: now,
      updatedAt: now,
    });
  }

  async claim(workerId: string, limit: number, leaseMs: number): Promise<MemoryJob[]> {
    const now = new Date();
    const claimIn = async (manager: EntityManager, lock: boolean) =>
      this.claimFrom(
        manager,
        await this.candidates(manager, now, limit * 4, lock),
        workerId,
        limit,
        leaseMs,
        now,
      );
    // SQLite: one exclusive write (Transactions runs SQLite writes one at a time). MySQL/MariaDB:
    // two workers claiming jobs of the same users can still deadlock on the unique
    // running_user_id; the transaction is then run again.
    if (this.dataSource.options.type === 'better-sqlite3') {
      return this.tx.write('memoryJobs.claim', (manager) => claimIn(manager, false));
    }
    return this.tx.run('memoryJobs.claim', (manager) => claimIn(manager, true), 'READ COMMITTED');
  }

  private async candidates(
    manager: EntityManager,
    now: Date,
    limit: number,
    lock: boolean,
  ): Promise<MemoryJob[]> {
    const query = manager
      .createQueryBuilder(MemoryJob, 'job')
      .where('job.status = :status', { status: 'pending' })
      .andWhere('job.runAt <= :now', { now })
      .orderBy('job.status', 'ASC')
      .addOrderBy('job.runAt', 'ASC')
      .limit(limit);
    if (lock) query.setLock('pessimistic_write').setOnLocked('skip_locked');
    return query.getMany();
  }

  private async claimFrom(
    manager: EntityManager,
    candidates: MemoryJob[],
    workerId: string,
    limit: number,
    leaseMs: number,
    now: Date,
  ): Promise<MemoryJob[]> {
    if (candidates.length === 0) return [];
    const busy = new Set(
      (
        await manager.find(MemoryJob, {
          select: { runningUserId: true },
          where: { status: 'running', userId: In([...new Set(candidates.map((c) => c.userId))]) },
        })
      ).map((j) => j.runningUserId),
    );
    // The oldest job of each free user, then updated in user order: two workers that contend for
    // the same users' unique running_user_id then always wait in one direction, never in a cycle.
    const chosen: MemoryJob[] = [];
    for (const job of candidates) {
      if (chosen.length >= limit) break;
      if (busy.has(job.userId)) continue;
      busy.add(job.userId);
      chosen.push(job);
    }
    chosen.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const claimed: MemoryJob[] = [];
    const leaseUntil = new Date(now.getTime() + leaseMs);
    for (const job of chosen) {
      const changes = {
        status: 'running' as const,
        runningUserId: job.userId,
        lockedBy: workerId,
        leaseUntil,
        attempts: job.attempts + 1,
        updatedAt: now,
      };
      try {
        const result = await manager.update(MemoryJob, { id: job.id, status: 'pending' }, changes);
        if (result.affected === 1) claimed.push({ ...job, ...changes });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error; // another process runs this user's job
      }
    }
    return claimed;
  }

  /**
   * Adds to a claimed job the same session's other turns that are due, oldest first, so that one
   * mem0 call learns from all of them. They are held like the job (same worker, same lease) but
   * without `running_user_id`: the lead job already holds the user's slot, which keeps every other
   * worker off this user's jobs, and the conditional update keeps two claims off one row.
   */
  async claimFollowers(
    lead: MemoryJob,
    workerId: string,
    limit: number,
    leaseMs: number,
  ): Promise<MemoryJob[]> {
    if (limit <= 0) return [];
    const now = new Date();
    // Read along the (user_id, status, created_at) index; a job still in its retry backoff stays.
    const candidates = (
      await this.jobs.find({
        where: { userId: lead.userId, status: 'pending', sessionId: lead.sessionId },
        order: { createdAt: 'ASC' },
        take: limit,
      })
    ).filter((job) => job.runAt <= now);
    const claimed: MemoryJob[] = [];
    const leaseUntil = new Date(now.getTime() + leaseMs);
    for (const job of candidates) {
      const changes = {
        status: 'running' as const,
        lockedBy: workerId,
        leaseUntil,
        attempts: job.attempts + 1,
        updatedAt: now,
      };
      const result = await this.tx.write('memoryJobs.claimFollower', (manager) =>
        manager.update(MemoryJob, { id: job.id, status: 'pending' }, changes),
      );
      if (result.affected === 1) claimed.push({ ...job, ...changes });
    }
    return claimed;
  }

  /** Extends the lease of jobs this worker still holds; false when any was lost. */
  async heartbeat(jobIds: string[], workerId: string, leaseMs: number): Promise<boolean> {
    const result = await this.tx.write('memoryJobs.heartbeat', (manager) =>
      manager.update(
        MemoryJob,
        { id: In(jobIds), lockedBy: workerId, status: 'running' },
        { leaseUntil: new Date(Date.now() + leaseMs), updatedAt: new Date() },
      ),
    );
    return result.affected === jobIds.length;
  }

  /** Finished jobs leave the queue; returns how many this worker still held. */
  async complete(jobIds: string[], workerId: string): Promise<number> {
    const result = await this.tx.write('memoryJobs.complete', (manager) =>
      manager.delete(MemoryJob, { id: In(jobIds), lockedBy: workerId, status: 'running' }),
    );
    return result.affected ?? 0;
  }

  /** Back to the queue at `retryAt`, or `failed` for good when retryAt is null. */
  async fail(jobId: string, workerId: string, error: string, retryAt: Date | null): Promise<void> {
    await this.tx.write('memoryJobs.fail', (manager) =>
      manager.update(
        MemoryJob,
        { id: jobId, lockedBy: workerId, status: 'running' },
        {
          ...released(),
          status: retryAt ? 'pending' : 'failed',
          runAt: retryAt ?? new Date(),
          lastError: error.slice(0, 1000),
        },
      ),
    );
  }

  /** Returns a job this worker gives up (shutdown) to the queue without counting the attempt. */
  async release(job: MemoryJob, workerId: string): Promise<void> {
    await this.tx.write('memoryJobs.release', (manager) =>
      manager.update(
        MemoryJob,
        { id: job.id, lockedBy: workerId, status: 'running' },
        {
          ...released(),
          status: 'pending',
          attempts: Math.max(0, job.attempts - 1),
          runAt: new Date(),
        },
      ),
    );
  }

  /** Jobs whose worker died (lease expired) go back to the queue, or fail once out of attempts. */
  async reclaimExpired(maxAttempts: number): Promise<number> {
    const now = new Date();
    const expired = await this.jobs.find({
      where: { status: 'running', leaseUntil: LessThan(now) },
      take: 100,
    });
    for (const job of expired) {
      const outOfAttempts = job.attempts >= maxAttempts;
      await this.tx.write('memoryJobs.reclaim', (manager) =>
        manager.update(
          MemoryJob,
          { id: job.id, status: 'running', leaseUntil: LessThan(now) },
          {
            ...released(),
            status: outOfAttempts ? 'failed' : 'pending',
            runAt: now,
            lastError: 'The worker stopped before finishing; the job was returned to the queue',
          },
        ),
      );
    }
    return expired.length;
  }

  /** Whether the jobs' owner still exists (a deleted user's jobs vanish with the account). */
  userExists(userId: string): Promise<boolean> {
    return this.jobs.manager.existsBy(User, { id: userId });
  }

  isRunningFor(manager: EntityManager, userId: string): Promise<boolean> {
    return manager.existsBy(MemoryJob, { userId, status: 'running' });
  }

  listForUser(userId: string): Promise<MemoryJob[]> {
    return this.jobs.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Jobs of any status and user unless filtered, newest first; the id breaks ties. */
  findPage(
    filter: { status?: MemoryJobStatus; userId?: string },
    limit: number,
    offset: number,
  ): Promise<[MemoryJob[], number]> {
    // This TypeORM throws on undefined where-values, so only the given filters are set.
    const where: FindOptionsWhere<MemoryJob> = {};
    if (filter.status) where.status = filter.status;
    if (filter.userId) where.userId = filter.userId;
    return this.jobs.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  findById(id: string): Promise<MemoryJob | null> {
    return this.jobs.findOneBy({ id });
  }

  /**
   * A failed job back to the queue, due now, with its attempts reset; `last_error` stays until
   * it runs. False when the job is gone or no longer failed.
   */
  async retryFailed(id: string, now: Date): Promise<boolean> {
    const result = await this.tx.write('memoryJobs.retry', (manager) =>
      manager.update(
        MemoryJob,
        { id, status: 'failed' },
        { ...released(), status: 'pending', attempts: 0, runAt: now, updatedAt: now },
      ),
    );
    return result.affected === 1;
  }
}

function released() {
  return { runningUserId: null, lockedBy: null, leaseUntil: null, updatedAt: new Date() };
}
