import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';

export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
const FAILURES = 'login-failures';
const BLOCKED = 'login-blocked';
const NEVER = Number.MAX_SAFE_INTEGER;
/** A read's hit on the block marker means nothing, so it expires at once and costs no memory. */
const READ_TTL_MS = 1000;

/** Who a login attempt is counted against: the login name (any case) and the client address. */
export interface LoginSubjects {
  login?: string;
  address?: string;
}

/**
 * Failed logins per login name and per client address, kept in the throttler's storage so that a
 * shared store limits every replica. Only failures count. The storage offers nothing but
 * `increment`, so each subject has two keys: a failure counter (never blocks by itself) and a
 * block marker. The marker is read with an unreachable limit, which records a harmless hit but never
 * blocks; it is set, for one window, with a limit of 0 once the counter reaches the budget. A
 * success cannot clear the counter through that interface; failures simply age out of the window.
 */
@Injectable()
export class LoginFailureLimiter {
  readonly limit: number;

  constructor(
    config: AppConfig,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {
    this.limit = config.limits.throttleLoginFailures;
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Seconds until these subjects may try again; 0 when none is blocked. Counts nothing. */
  async retryAfterSeconds(subjects: LoginSubjects): Promise<number> {
    if (!this.enabled) return 0;
    const records = await Promise.all(
      keysOf(subjects).map((key) =>
        this.storage.increment(`${key}:blocked`, READ_TTL_MS, NEVER, WINDOW, BLOCKED),
      ),
    );
    return Math.max(0, ...records.filter((r) => r.isBlocked).map((r) => r.timeToBlockExpire));
  }

  async recordFailure(subjects: LoginSubjects): Promise<void> {
    if (!this.enabled) return;
    await Promise.all(
      keysOf(subjects).map(async (key) => {
        const { totalHits } = await this.storage.increment(key, WINDOW, NEVER, WINDOW, FAILURES);
        if (totalHits >= this.limit) {
          await this.storage.increment(`${key}:blocked`, WINDOW, 0, WINDOW, BLOCKED);
        }
      }),
    );
  }
}

const WINDOW = LOGIN_FAILURE_WINDOW_MS;

/** Hashed, so the store never holds login names or addresses. */
function keysOf({ login, address }: LoginSubjects): string[] {
  const keys: string[] = [];
  if (login !== undefined) keys.push(`login:name:${sha256(login.toLowerCase())}`);
  if (address !== undefined) keys.push(`login:addr:${sha256(address)}`);
  return keys;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
