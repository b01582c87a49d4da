import { DomainError, ErrorCode } from '@app/common';
import { QueryFailedError } from 'typeorm';

import { isForeignKeyViolation, isTransientConflict, isUniqueViolation } from './query-errors';
import { DATABASE_BUSY_MESSAGE, retryTransient, RetryPolicy } from './retry-policy';

const driverError = (code: string, errno?: number) =>
  new QueryFailedError('UPDATE x', [], Object.assign(new Error(code), { code, errno }));

const deadlock = () => driverError('ER_LOCK_DEADLOCK', 1213);
const lockWaitTimeout = () => driverError('ER_LOCK_WAIT_TIMEOUT', 1205);
const policy: RetryPolicy = { attempts: 4, baseDelayMs: 20, maxDelayMs: 400 };

/** Runs `retryTransient` with a recorded (instant) sleep and a fixed jitter. */
async function run<T>(work: (attempt: number) => Promise<T>, random = () => 0.5) {
  const pauses: number[] = [];
  const retries: number[] = [];
  const outcome = await retryTransient(work, policy, {
    sleep: (ms) => {
      pauses.push(ms);
      return Promise.resolve();
    },
    random,
    onRetry: (_error, attempt) => retries.push(attempt),
  }).then(
    (value) => ({ value, error: undefined as unknown }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { ...outcome, pauses, retries };
}

describe('transient database errors', () => {
  it.each([
    ['a MySQL/MariaDB deadlock (1213)', deadlock()],
    ['a lock wait timeout (1205)', lockWaitTimeout()],
    ['SQLite busy', driverError('SQLITE_BUSY')],
    ['SQLite busy, extended code', driverError('SQLITE_BUSY_SNAPSHOT')],
    ['SQLite locked', driverError('SQLITE_LOCKED')],
    [
      'a deadlock reported unwrapped (on COMMIT)',
      Object.assign(new Error('x'), { code: 'ER_LOCK_DEADLOCK' }),
    ],
  ])('%s is transient', (_name, error) => {
    expect(isTransientConflict(error)).toBe(true);
  });

  it.each([
    ['a duplicate key', driverError('ER_DUP_ENTRY', 1062)],
    ['a foreign-key violation', driverError('ER_NO_REFERENCED_ROW_2', 1452)],
    ['a SQLite constraint', driverError('SQLITE_CONSTRAINT_FOREIGNKEY')],
    ['a syntax error', driverError('ER_PARSE_ERROR', 1064)],
    ['a lost connection', driverError('PROTOCOL_CONNECTION_LOST')],
    ['a plain error', new Error('boom')],
    ['not an error', 'ER_LOCK_DEADLOCK'],
  ])('%s is not', (_name, error) => {
    expect(isTransientConflict(error)).toBe(false);
  });

  it('tells unique and foreign-key violations apart on both databases', () => {
    expect(isUniqueViolation(driverError('ER_DUP_ENTRY'))).toBe(true);
    expect(isUniqueViolation(driverError('SQLITE_CONSTRAINT_UNIQUE'))).toBe(true);
    expect(isForeignKeyViolation(driverError('ER_NO_REFERENCED_ROW_2'))).toBe(true);
    expect(isForeignKeyViolation(driverError('SQLITE_CONSTRAINT_FOREIGNKEY'))).toBe(true);
    expect(isForeignKeyViolation(driverError('ER_DUP_ENTRY'))).toBe(false);
  });
});

describe('retryTransient', () => {
  it('returns the first success without pausing', async () => {
    const work = jest.fn().mockResolvedValue('ok');
    const result = await run(work);
    expect(result).toMatchObject({ value: 'ok', pauses: [], retries: [] });
    expect(work).toHaveBeenCalledTimes(1);
  });

  it('runs the work again, whole, after each transient conflict', async () => {
    const work = jest
      .fn()
      .mockRejectedValueOnce(deadlock())
      .mockRejectedValueOnce(lockWaitTimeout())
      .mockResolvedValue('ok');
    const result = await run(work);
    expect(result.value).toBe('ok');
    expect(work.mock.calls).toEqual([[1], [2], [3]]);
    expect(result.retries).toEqual([1, 2]);
  });

  it('pauses a jittered time under a ceiling that doubles, up to the maximum', async () => {
    const work = jest.fn().mockRejectedValue(deadlock());
    expect((await run(work, () => 0.999)).pauses).toEqual([20, 40, 80]);
    expect((await run(work, () => 0)).pauses).toEqual([0, 0, 0]);
    const pauses: number[] = [];
    const long = await retryTransient(
      () => Promise.reject(deadlock()),
      { attempts: 8, baseDelayMs: 100, maxDelayMs: 400 },
      { sleep: (ms) => Promise.resolve(void pauses.push(ms)), random: () => 0.999 },
    ).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(DomainError);
    expect(pauses).toEqual([100, 200, 400, 400, 400, 400, 400]);
  });

  it('gives up after the attempts with DATABASE_BUSY (503, Retry-After), the cause kept', async () => {
    const conflict = deadlock();
    const work = jest.fn().mockRejectedValue(conflict);
    const result = await run(work);
    expect(work).toHaveBeenCalledTimes(4);
    expect(result.retries).toEqual([1, 2, 3]);
    expect(result.error).toBeInstanceOf(DomainError);
    expect(result.error).toMatchObject({
      code: ErrorCode.DatabaseBusy,
      message: DATABASE_BUSY_MESSAGE,
      retryAfterSeconds: 1,
      cause: conflict,
    });
  });

  it.each([
    ['a duplicate key', driverError('ER_DUP_ENTRY', 1062)],
    ['a foreign-key violation', driverError('ER_NO_REFERENCED_ROW_2', 1452)],
    ['a domain error', new DomainError(ErrorCode.SessionNotFound, 'Session not found')],
    ['a lost connection', driverError('PROTOCOL_CONNECTION_LOST')],
  ])('does not retry %s: it is thrown as it is', async (_name, error) => {
    const work = jest.fn().mockRejectedValue(error);
    const result = await run(work);
    expect(result.error).toBe(error);
    expect(work).toHaveBeenCalledTimes(1);
    expect(result.pauses).toEqual([]);
  });

  it('with one attempt, never retries', async () => {
    const work = jest.fn().mockRejectedValue(deadlock());
    const error = await retryTransient(work, { ...policy, attempts: 1 }).catch((e: unknown) => e);
    expect(work).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ code: ErrorCode.DatabaseBusy });
  });
});
