import { ErrorCode } from '@app/common';
import { ThrottlerStorageService } from '@nestjs/throttler';

import { configWith } from '../../../../test/support/builders';
import { LOGIN_FAILURE_WINDOW_MS, LoginFailureLimiter } from './login-failure-limiter';

describe('LoginFailureLimiter', () => {
  let storage: ThrottlerStorageService;

  const limiterWith = (limit: number) =>
    new LoginFailureLimiter(configWith({ limits: { throttleLoginFailures: limit } }), storage);

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    storage = new ThrottlerStorageService();
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('blocks an account after `limit` failures, for one window, without counting checks', async () => {
    const limiter = limiterWith(3);
    const alice = { account: 'user:alice-id', address: '10.0.0.1' };
    for (let i = 0; i < 2; i++) {
      expect(await limiter.retryAfterSeconds(alice)).toBe(0);
      await limiter.recordFailure(alice);
    }
    // Checks (successful logins) do not spend the budget.
    for (let i = 0; i < 10; i++) expect(await limiter.retryAfterSeconds(alice)).toBe(0);
    await limiter.recordFailure(alice);
    expect(await limiter.retryAfterSeconds(alice)).toBe(LOGIN_FAILURE_WINDOW_MS / 1000);
    await expect(limiter.assertAllowed(alice)).rejects.toMatchObject({
      code: ErrorCode.TooManyFailedLogins,
      retryAfterSeconds: LOGIN_FAILURE_WINDOW_MS / 1000,
    });
    // Without an address (no way to tell the owner apart) the account's block holds.
    expect(await limiter.retryAfterSeconds({ account: 'user:alice-id' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ account: 'user:bob-id', address: '10.0.0.2' })).toBe(
      0,
    );

    jest.advanceTimersByTime(LOGIN_FAILURE_WINDOW_MS - 60_000);
    expect(await limiter.retryAfterSeconds(alice)).toBe(60);
    jest.advanceTimersByTime(60_000);
    expect(await limiter.retryAfterSeconds(alice)).toBe(0);
    // The old failures have aged out with the block: a fresh budget.
    await limiter.recordFailure(alice);
    expect(await limiter.retryAfterSeconds(alice)).toBe(0);
  });

  it('lets an address that never failed on a blocked account still try it (the owner)', async () => {
    const limiter = limiterWith(2);
    const account = 'user:carol-id';
    await limiter.recordFailure({ account, address: '10.0.2.1' });
    await limiter.recordFailure({ account, address: '10.0.2.2' });
    expect(await limiter.retryAfterSeconds({ account, address: '10.0.2.1' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ account, address: '10.0.2.2' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ account, address: '10.0.2.3' })).toBe(0);
    // One wrong guess from the new address, and it is held to the block too.
    await limiter.recordFailure({ account, address: '10.0.2.3' });
    expect(await limiter.retryAfterSeconds({ account, address: '10.0.2.3' })).toBeGreaterThan(0);
  });

  it('counts one address across accounts', async () => {
    const limiter = limiterWith(2);
    await limiter.recordFailure({ account: 'name:a', address: '10.0.0.9' });
    await limiter.recordFailure({ account: 'name:b', address: '10.0.0.9' });
    expect(
      await limiter.retryAfterSeconds({ account: 'name:c', address: '10.0.0.9' }),
    ).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ account: 'name:c', address: '10.0.0.8' })).toBe(0);
  });

  it('lets failures older than the window age out', async () => {
    const limiter = limiterWith(2);
    await limiter.recordFailure({ account: 'name:erin' });
    jest.advanceTimersByTime(LOGIN_FAILURE_WINDOW_MS + 1);
    await limiter.recordFailure({ account: 'name:erin' });
    expect(await limiter.retryAfterSeconds({ account: 'name:erin' })).toBe(0);
  });

  it('does nothing when the limit is 0', async () => {
    const limiter = limiterWith(0);
    const increment = jest.spyOn(storage, 'increment');
    for (let i = 0; i < 5; i++) await limiter.recordFailure({ account: 'x', address: '1.2.3.4' });
    expect(await limiter.retryAfterSeconds({ account: 'x', address: '1.2.3.4' })).toBe(0);
    expect(increment).not.toHaveBeenCalled();
  });

  it('keeps neither login names nor addresses in the store', async () => {
    const limiter = limiterWith(5);
    await limiter.recordFailure({ account: 'name:secret_name', address: '192.0.2.7' });
    const keys = [...storage.storage.keys()].join(' ');
    expect(keys).not.toMatch(/secret_name|192\.0\.2\.7/);
  });
});
