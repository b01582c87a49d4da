import { DomainError, ErrorCode } from '@app/common';

import { isTransientConflict } from './query-errors';

export const DATABASE_BUSY_MESSAGE = 'The database is busy with other requests; try again shortly';

export interface RetryPolicy {
  /** Runs in all, the first included; 1 means no retry. */
  attempts: number;
  /** The ceiling of the first pause; it doubles with each retry, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 20, maxDelayMs: 400 };

export interface RetryHooks {
  /** Called before each pause, with the run that failed (1-based). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1): the jitter. */
  random?: () => number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` and runs it again, whole, while it fails with a transient conflict (deadlock, lock
 * wait timeout, SQLite busy), pausing a random time up to an exponentially growing ceiling ("full
 * jitter", so that the requests that collided do not collide again in step). Any other error is
 * thrown at once. When the last run also conflicts, throws a DomainError DATABASE_BUSY (503 with
 * Retry-After) whose cause is the database's error.
 */
export async function retryTransient<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? sleepFor;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (!isTransientConflict(error)) throw error;
      if (attempt >= policy.attempts) {
        throw new DomainError(ErrorCode.DatabaseBusy, DATABASE_BUSY_MESSAGE, 1, { cause: error });
      }
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(random() * ceiling);
      hooks.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
