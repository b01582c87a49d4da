import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';

export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
export const TOO_MANY_FAILED_LOGINS = 'Too many failed logins; try again later';
const FAILURES = 'login-failures';
const BLOCKED = 'login-blocked';
/** The throttler names of the failed-password budgets in the storage (REDIS_FAIL_MODE_LOGIN). */
export const PASSWORD_BUDGETS: ReadonlySet<string> = new Set([FAILURES, BLOCKED]);
const NEVER = Number.MAX_SAFE_INTEGER;
/** A read's hit on the block marker means nothing, so it expires at once and costs no memory. */
const READ_TTL_MS = 1000;
const WINDOW = LOGIN_FAILURE_WINDOW_MS;

/**
 * Who a password check is counted against: the account (`user:<id>`; for a name that matches no
 * account, `name:<canonical name>`, so unknown names are limited too) and the client address.
 */
export interface PasswordAttempt {
  account: string;
  address?: string;
}

/**
 * Failed password checks (logins, and the password asked again to delete an account), counted in
 * the throttler's storage so that a shared store limits every replica. Three budgets:
 *
 * - per account, whatever was typed to reach it (`alice`, `ALICE`, `alice@example.com`);
 * - per client address, across accounts;
 * - per (account, address): once an address has failed on an account, it is held to the
 *   account's block. An address that has not failed on it may still try: the owner, from their
 *   usual place, can log in with the right password while someone else's guesses keep the
 *   account blocked (each new address gets one guess, then is held too).
 *
 * Only failures count. The storage offers nothing but `increment`, so each budget has a failure
 * counter (never blocks by itself) and a block marker, read with an unreachable limit (a harmless
 * hit) and set for one window with a limit of 0 once the counter reaches the budget.
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

  /** Throws 429 (with Retry-After) when this attempt may not check a password now. */
  async assertAllowed(attempt: PasswordAttempt): Promise<void> {
    const wait = await this.retryAfterSeconds(attempt);
    if (wait > 0)
      throw new DomainError(ErrorCode.TooManyFailedLogins, TOO_MANY_FAILED_LOGINS, wait);
  }

  /** Seconds until this attempt may check a password; 0 when it may now. Counts nothing. */
  async retryAfterSeconds(attempt: PasswordAttempt): Promise<number> {
    if (!this.enabled) return 0;
    const keys = keysOf(attempt);
    const [account, address, pair] = await Promise.all([
      this.blockedFor(keys.account),
      keys.address ? this.blockedFor(keys.address) : 0,
      keys.pair ? this.blockedFor(keys.pair) : 0,
    ]);
    const accountWait = account > 0 && (pair > 0 || !keys.pair) ? account : 0;
    return Math.max(address, accountWait);
  }

  async recordFailure(attempt: PasswordAttempt): Promise<void> {
    if (!this.enabled) return;
    const keys = keysOf(attempt);
    await Promise.all([
      this.count(keys.account, this.limit),
      keys.address ? this.count(keys.address, this.limit) : undefined,
      keys.pair ? this.count(keys.pair, 1) : undefined,
    ]);
  }

  private async blockedFor(key: string): Promise<number> {
    const record = await this.storage.increment(
      `${key}:blocked`,
      READ_TTL_MS,
      NEVER,
      WINDOW,
      BLOCKED,
    );
    return record.isBlocked ? Math.max(1, record.timeToBlockExpire) : 0;
  }

  private async count(key: string, budget: number): Promise<void> {
    const { totalHits } = await this.storage.increment(key, WINDOW, NEVER, WINDOW, FAILURES);
    if (totalHits >= budget) {
      await this.storage.increment(`${key}:blocked`, WINDOW, 0, WINDOW, BLOCKED);
    }
  }
}

/** Hashed, so the store never holds names, ids or addresses. */
function keysOf({ account, address }: PasswordAttempt): {
  account: string;
  address?: string;
  pair?: string;
} {
  return {
    account: `login:acct:${sha256(account)}`,
    address: address === undefined ? undefined : `login:addr:${sha256(address)}`,
    pair: address === undefined ? undefined : `login:pair:${sha256(`${account}\n${address}`)}`,
  };
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
