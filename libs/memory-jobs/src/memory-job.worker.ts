import { MemoryStore } from '@app/ai';
import { DomainError } from '@app/common';
import { AppConfig } from '@app/config';
import { MemoryJob } from '@app/database';
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import { ExtractionRefused, MemoryExtractionService } from './memory-extraction.service';
import { MemoryJobsRepository } from './memory-jobs.repository';

/**
 * Runs extraction jobs off the response path: polls the queue, runs up to `concurrency` jobs
 * (never two of one user) each together with up to `batchSize − 1` more pending turns of its
 * session, so a backlog is learned from in fewer mem0 calls; retries with exponential backoff;
 * on shutdown stops claiming, lets running jobs finish for a bounded time and returns the rest
 * to the queue.
 */
@Injectable()
export class MemoryJobWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(MemoryJobWorker.name);
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, { batch: MemoryJob[]; done: Promise<void> }>();
  private active = false;
  private timer?: NodeJS.Timeout;
  private ticking = false;
  /** When expired leases were last looked for (ms since the epoch). */
  private reclaimedAt = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: MemoryJobsRepository,
    private readonly extraction: MemoryExtractionService,
    private readonly store: MemoryStore,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.memoryJobs.workersEnabled && this.store.extracts) this.start();
  }

  start(): void {
    this.active = true;
    this.schedule(0);
  }

  /** Called after a turn enqueues a job, so extraction starts now rather than at the next poll. */
  wake(): void {
    if (this.active) this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    if (this.running.size === 0) return;
    this.logger.log(`Waiting for ${this.running.size} memory job(s) to finish`);
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise(
      (r) => (graceTimer = setTimeout(r, this.config.memoryJobs.shutdownGraceMs)),
    );
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), grace]);
    clearTimeout(graceTimer);
    for (const { batch } of this.running.values()) {
      for (const job of batch) await this.jobs.release(job, this.workerId);
    }
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.ticking || !this.active) return;
    this.ticking = true;
    let claimed = 0;
    try {
      const { concurrency, leaseMs, maxAttempts, pollMs } = this.config.memoryJobs;
      // A lease runs out only when a worker died: looking once per poll interval is as prompt
      // as an idle worker, and a busy one (woken by every turn) no longer looks on every tick.
      const now = Date.now();
      if (now - this.reclaimedAt >= pollMs) {
        this.reclaimedAt = now;
        await this.jobs.reclaimExpired(maxAttempts);
      }
      const free = concurrency - this.running.size;
      if (free > 0) {
        const jobs = await this.jobs.claim(this.workerId, free, leaseMs);
        claimed = jobs.length;
        for (const job of jobs) this.run(job);
      }
    } catch (error) {
      this.logger.error({ err: error }, 'Claiming memory jobs failed');
    } finally {
      this.ticking = false;
      this.schedule(claimed > 0 ? 0 : this.config.memoryJobs.pollMs);
    }
  }

  private run(lead: MemoryJob): void {
    const entry = { batch: [lead], done: Promise.resolve() };
    entry.done = this.process(entry.batch).finally(() => {
      this.running.delete(lead.id);
      this.schedule(0);
    });
    this.running.set(lead.id, entry);
  }

  /** `batch` starts as the claimed job; the session's other due turns join it (in place). */
  private async process(batch: MemoryJob[]): Promise<void> {
    const { leaseMs, maxAttempts, retryBaseMs, batchSize } = this.config.memoryJobs;
    const [lead] = batch;
    const ids = () => batch.map((j) => j.id);
    const heartbeat = setInterval(
      () => void this.jobs.heartbeat(ids(), this.workerId, leaseMs).catch(() => undefined),
      Math.max(1000, leaseMs / 3),
    );
    heartbeat.unref();
    try {
      batch.push(...(await this.jobs.claimFollowers(lead, this.workerId, batchSize - 1, leaseMs)));
      await this.extraction.extract(batch);
      const completed = await this.jobs.complete(ids(), this.workerId);
      if (completed < batch.length) await this.forgetIfUserGone(lead.userId);
    } catch (error) {
      // Users see last_error: only our own messages are fit to show, never internals.
      const refused = error instanceof ExtractionRefused;
      const message =
        error instanceof DomainError || refused ? error.message : 'Memory extraction failed';
      this.logger.warn(
        { job_ids: ids(), attempt: lead.attempts, err: error },
        'Memory extraction failed',
      );
      for (const job of batch) {
        const retryAt =
          job.attempts < maxAttempts && !refused
            ? new Date(Date.now() + retryBaseMs * 2 ** (job.attempts - 1))
            : null;
        await this.jobs.fail(job.id, this.workerId, message, retryAt).catch((e: unknown) => {
          this.logger.error({ err: e, job_id: job.id }, 'Could not record the job failure');
        });
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Jobs that vanished while mem0 learned from them: their lease was lost, or the user was
   * deleted (the rows cascade). In the second case the deletion's erasure may have run before
   * this extraction stored its memories, so they are erased now. (The deletion also sweeps once
   * more after a lease, for a worker that dies right here.)
   */
  private async forgetIfUserGone(userId: string): Promise<void> {
    try {
      if (await this.jobs.userExists(userId)) return;
      const erased = await this.store.eraseUser(userId);
      this.logger.log(
        { user_id: userId, erased },
        'Erased what extraction stored for a deleted user',
      );
    } catch (error) {
      this.logger.warn(
        { err: error, user_id: userId },
        'Could not erase a deleted user’s new memories',
      );
    }
  }
}
