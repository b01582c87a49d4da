import { DomainError, ErrorCode } from '@app/common';
import type { FailMode } from '@app/config';
import type { ThrottlerStorage } from '@nestjs/throttler';

export const LIMITS_UNAVAILABLE = 'Rate limiting is unavailable right now; try again shortly';
/** Reconnection attempts are at most 2 s apart: a few seconds covers a restart of Redis. */
export const LIMITS_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

type StorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** What an open limit reports while its store is down: nothing counted, nothing blocked. */
const NOT_COUNTED: StorageRecord = {
  totalHits: 0,
  timeToExpire: 0,
  isBlocked: false,
  timeToBlockExpire: 0,
};

export interface StoreHealth {
  failed(error: Error): void;
  succeeded(): void;
}

/**
 * A shared store that can be unreachable. Every count goes through `increment`; when the store
 * fails, the limit it was for decides by its fail mode (by throttler name: the failed-password
 * budgets have theirs, every request-rate rule the other): `open` lets the request through as if
 * nothing were counted, `closed` refuses it with 503 RATE_LIMIT_UNAVAILABLE and Retry-After.
 * Never a 500: whatever the store threw is reported to `health`, which logs the outage once.
 */
export class FailSafeStorage implements ThrottlerStorage {
  constructor(
    private readonly inner: ThrottlerStorage,
    private readonly modeFor: (throttlerName: string) => FailMode,
    private readonly health: StoreHealth,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<StorageRecord> {
    let record: StorageRecord;
    try {
      record = await this.inner.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error) {
      this.health.failed(error instanceof Error ? error : new Error(String(error)));
      if (this.modeFor(throttlerName) === 'open') return NOT_COUNTED;
      throw new DomainError(
        ErrorCode.RateLimitUnavailable,
        LIMITS_UNAVAILABLE,
        LIMITS_UNAVAILABLE_RETRY_AFTER_SECONDS,
      );
    }
    this.health.succeeded();
    return record;
  }
}
