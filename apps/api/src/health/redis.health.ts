import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

import { LimitsStore } from '../throttling/limits-store';

/**
 * The Redis that holds the shared limits (REDIS_URL) answers a PING. The client neither queues
 * nor retries, so a Redis that is down answers at once and one that hangs within
 * REDIS_COMMAND_TIMEOUT_MS: the probe never waits on it longer.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly limits: LimitsStore,
  ) {}

  get configured(): boolean {
    return this.limits.configured;
  }

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    try {
      await this.limits.ping();
      return indicator.up();
    } catch {
      return indicator.down({ message: 'Redis (shared rate limits) does not answer' });
    }
  }
}
