import { AppConfig } from '@app/config';
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { AccountService } from './account.service';
import { UserDeletionRepository } from './user-deletion.repository';

const BATCH = 10;

/**
 * Finishes deletions whose memory erasure could not run at once (memory store down, process
 * stopped mid-way): polls `user_deletions`, retries with backoff, never crashes on an error. It
 * runs in every API process, whatever MEMORY_WORKERS_ENABLED says, because a deleted user's data
 * must not wait for a worker deployment; claims are optimistic, so processes never collide. On
 * shutdown it stops polling and waits a bounded time for the attempt in progress, whose claim
 * otherwise expires so that another run retries it.
 */
@Injectable()
export class UserDeletionWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UserDeletionWorker.name);
  private active = false;
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly deletions: UserDeletionRepository,
    private readonly account: AccountService,
  ) {}

  onApplicationBootstrap(): void {
    this.start();
  }

  start(): void {
    this.active = true;
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    if (!this.current) return;
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise(
      (r) => (graceTimer = setTimeout(r, this.config.memoryJobs.shutdownGraceMs)),
    );
    await Promise.race([this.current, grace]);
    clearTimeout(graceTimer);
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.current = this.tick().finally(() => (this.current = undefined));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let claimed = 0;
    try {
      const deletions = await this.deletions.claimDue(BATCH, this.account.claimUntil(new Date()));
      claimed = deletions.length;
      for (const deletion of deletions) {
        if (!this.active) break; // the rest are retried once their claims expire
        await this.account.eraseMemories(deletion);
      }
    } catch (error) {
      this.logger.error({ err: error }, 'Claiming user deletions failed');
    } finally {
      this.schedule(claimed === BATCH ? 0 : this.config.memoryJobs.pollMs);
    }
  }
}
