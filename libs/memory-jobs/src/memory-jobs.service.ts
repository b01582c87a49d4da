import { MemoryJob, MemoryJobStatus, Transactions } from '@app/database';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

import { MemoryJobWorker } from './memory-job.worker';
import { MemoryJobsRepository, NewMemoryJob } from './memory-jobs.repository';

export type MemoryJobRetry =
  { outcome: 'queued'; job: MemoryJob } | { outcome: 'not_found' } | { outcome: 'not_failed' };

/**
 * Memory extraction as the rest of the application sees it: turns are queued here, listed here
 * and retried here. The queue and the worker that drains it stay inside this module; whatever
 * gives the worker something to do wakes it, so callers never have to.
 */
@Injectable()
export class MemoryJobsService {
  constructor(
    private readonly tx: Transactions,
    private readonly jobs: MemoryJobsRepository,
    private readonly worker: MemoryJobWorker,
  ) {}

  /**
   * Queues a turn's extraction inside the caller's transaction (a `Transactions.run`), so that
   * the job exists exactly when the reply does; the worker is woken once that commits.
   */
  async enqueue(manager: EntityManager, job: NewMemoryJob, now: Date): Promise<void> {
    await this.jobs.enqueue(manager, job, now);
    this.tx.afterCommit(manager, () => this.worker.wake());
  }

  /** Whether an extraction of the user's turns runs now, read in the caller's transaction. */
  isRunningFor(manager: EntityManager, userId: string): Promise<boolean> {
    return this.jobs.isRunningFor(manager, userId);
  }

  /** The user's jobs (pending, running or failed: finished ones leave the queue), oldest first. */
  listForUser(userId: string): Promise<MemoryJob[]> {
    return this.jobs.listForUser(userId);
  }

  /** Jobs of any status and user unless filtered, newest first. */
  findPage(
    filter: { status?: MemoryJobStatus; userId?: string },
    limit: number,
    offset: number,
  ): Promise<[MemoryJob[], number]> {
    return this.jobs.findPage(filter, limit, offset);
  }

  /** A failed job runs again from scratch: pending now, with a fresh set of attempts. */
  async retry(jobId: string): Promise<MemoryJobRetry> {
    const job = await this.jobs.findById(jobId);
    if (!job) return { outcome: 'not_found' };
    const now = new Date();
    if (job.status !== 'failed' || !(await this.jobs.retryFailed(job.id, now))) {
      return { outcome: 'not_failed' };
    }
    this.worker.wake();
    return {
      outcome: 'queued',
      job: { ...job, status: 'pending', attempts: 0, runAt: now, updatedAt: now },
    };
  }
}
