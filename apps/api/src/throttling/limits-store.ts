import { AppConfig, FailMode } from '@app/config';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';

import { FailSafeStorage } from './fail-safe-storage';
import { PASSWORD_BUDGETS } from './login-failure-limiter';

/** Between reconnection attempts to a Redis that went away: 100 ms, 200 ms, … at most 2 s. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Where every limit is counted: the throttler's rules and the failed-password budgets. Without
 * REDIS_URL, the throttler's own in-memory store (`storage` is undefined), one per process. With
 * it, one Redis that every replica shares, through `@nest-lab/throttler-storage-redis` over an
 * ioredis client made here and closed when the application shuts down.
 *
 * The client never queues or retries a command: while Redis is not connected a call fails at
 * once, and on a live connection it fails after REDIS_COMMAND_TIMEOUT_MS, so an outage costs a
 * request milliseconds; FailSafeStorage then decides, per limit, to let the request through or to
 * refuse it. It reconnects by itself. An outage is logged once when it starts and once when it ends.
 */
@Injectable()
export class LimitsStore implements OnModuleInit, OnApplicationShutdown {
  /** The throttler's storage; undefined: the throttler's in-memory default. */
  readonly storage?: ThrottlerStorage;
  private readonly logger = new Logger('SharedLimits');
  private readonly redis?: Redis;
  private readonly failModes: { limits: FailMode; login: FailMode };
  private readonly connectTimeoutMs: number;
  private down = false;
  private closing = false;

  constructor(config: AppConfig) {
    const { url, keyPrefix, commandTimeoutMs, failModeLimits, failModeLogin } = config.redis;
    this.failModes = { limits: failModeLimits, login: failModeLogin };
    this.connectTimeoutMs = Math.max(commandTimeoutMs, 1000);
    if (url === undefined) return;
    this.redis = new Redis(url, {
      keyPrefix,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: this.connectTimeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
      // Connected in onModuleInit, once the application's logger can report an outage.
      lazyConnect: true,
    });
    this.storage = new FailSafeStorage(
      new ThrottlerStorageRedisService(this.redis),
      (throttlerName) => (PASSWORD_BUDGETS.has(throttlerName) ? failModeLogin : failModeLimits),
      { failed: (error) => this.wentDown(error), succeeded: () => this.cameBack() },
    );
  }

  get configured(): boolean {
    return this.redis !== undefined;
  }

  /**
   * Connects, and waits for the first connection (at most the connect timeout) so that the first
   * requests of a healthy deployment are counted; a Redis that does not answer does not stop the
   * start-up: the client keeps trying, and the outage is logged.
   */
  async onModuleInit(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    // Without an error listener ioredis prints every failed reconnection attempt to stderr.
    redis.on('error', (error: Error) => this.wentDown(error));
    redis.on('close', () => this.wentDown(new Error('connection closed')));
    redis.on('ready', () => this.cameBack());
    // It rejects when the first attempt fails (reconnection goes on all the same), and would
    // wait without end for a server that accepts connections but never answers.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      redis.connect().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, this.connectTimeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Resolves when Redis answers a PING within REDIS_COMMAND_TIMEOUT_MS; rejects otherwise. */
  async ping(): Promise<void> {
    if (!this.redis) return;
    await this.redis.ping();
  }

  /** After the HTTP server closed: no request can count anything any more. */
  onApplicationShutdown(): void {
    this.closing = true;
    this.redis?.disconnect();
  }

  private wentDown(error: Error): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.logger.warn(
      { err: error },
      `Redis for shared limits does not answer (${error.message}): rate limits fail ` +
        `${this.failModes.limits}, password checks fail ${this.failModes.login}, until it answers`,
    );
  }

  private cameBack(): void {
    if (!this.down || this.closing) return;
    this.down = false;
    this.logger.log('Redis for shared limits answers again: limits are shared again');
  }
}

@Module({ providers: [LimitsStore], exports: [LimitsStore] })
export class LimitsStoreModule {}
