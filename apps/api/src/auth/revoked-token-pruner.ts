import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { RevokedTokensRepository } from './revoked-tokens.repository';

export const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Deletes revoked-token rows once their token has expired (the signature check refuses it by
 * then anyway): at start-up and every 10 minutes. A database error is logged and the next run
 * tries again; the timer never keeps the process alive.
 */
@Injectable()
export class RevokedTokenPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RevokedTokenPruner.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly tokens: RevokedTokensRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.pruneExpired();
    this.timer = setInterval(() => void this.pruneExpired(), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Let a run in progress finish before the database connection closes.
    await this.running;
  }

  /** Deletes the rows that expired before `now`; returns how many, 0 after an error. */
  pruneExpired(now = new Date()): Promise<number> {
    this.running ??= this.deleteExpired(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async deleteExpired(now: Date): Promise<number> {
    try {
      const deleted = await this.tokens.deleteExpired(now);
      if (deleted > 0) this.logger.log(`Pruned ${deleted} expired revoked token(s)`);
      return deleted;
    } catch (error) {
      this.logger.error({ err: error }, 'Pruning expired revoked tokens failed');
      return 0;
    }
  }
}
