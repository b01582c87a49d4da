import { AppConfig } from '@app/config';
import { ThrottlerStorageService } from '@nestjs/throttler';

import { LOGIN_FAILURE_WINDOW_MS, LoginFailureLimiter } from './login-failure-limiter';

describe('LoginFailureLimiter', () => {
  let storage: ThrottlerStorageService;

  const limiterWith = (limit: number) =>
    new LoginFailureLimiter(
      AppConfig.of({ limits: { throttleLoginFailures: limit } } as AppConfig),
      storage,
    );

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    storage = new ThrottlerStorageService();
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('blocks a login name after `limit` failures, for one window, without counting checks', async () => {
    const limiter = limiterWith(3);
    const alice = { login: 'alice', address: '10.0.0.1' };
    for (let i = 0; i < 2; i++) {
      expect(await limiter.retryAfterSeconds(alice)).toBe(0);
      await limiter.recordFailure(alice);
    }
    // Checks (successful logins) do not spend the budget.
    for (let i = 0; i < 10; i++) expect(await limiter.retryAfterSeconds(alice)).toBe(0);
    await limiter.recordFailure(alice);
    expect(await limiter.retryAfterSeconds(alice)).toBe(LOGIN_FAILURE_WINDOW_MS / 1000);
    expect(await limiter.retryAfterSeconds({ login: 'ALICE' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ address: '10.0.0.1' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ login: 'bob', address: '10.0.0.2' })).toBe(0);

    jest.advanceTimersByTime(LOGIN_FAILURE_WINDOW_MS - 60_000);
    expect(await limiter.retryAfterSeconds(alice)).toBe(60);
    jest.advanceTimersByTime(60_000);
    expect(await limiter.retryAfterSeconds(alice)).toBe(0);
    // The old failures have aged out with the block: a fresh budget.
    await limiter.recordFailure(alice);
    expect(await limiter.retryAfterSeconds(alice)).toBe(0);
  });

  it('counts one address across login names, and one login name across addresses', async () => {
    const limiter = limiterWith(2);
    await limiter.recordFailure({ login: 'a', address: '10.0.0.9' });
    await limiter.recordFailure({ login: 'b', address: '10.0.0.9' });
    expect(await limiter.retryAfterSeconds({ login: 'c', address: '10.0.0.9' })).toBeGreaterThan(0);
    expect(await limiter.retryAfterSeconds({ login: 'c', address: '10.0.0.8' })).toBe(0);

    await limiter.recordFailure({ login: 'Dave', address: '10.0.1.1' });
    await limiter.recordFailure({ login: 'dave', address: '10.0.1.2' });
    expect(await limiter.retryAfterSeconds({ login: 'dAVE', address: '10.0.1.3' })).toBeGreaterThan(
      0,
    );
  });

  it('lets failures older than the window age out', async () => {
    const limiter = limiterWith(2);
    await limiter.recordFailure({ login: 'erin' });
    jest.advanceTimersByTime(LOGIN_FAILURE_WINDOW_MS + 1);
    await limiter.recordFailure({ login: 'erin' });
    expect(await limiter.retryAfterSeconds({ login: 'erin' })).toBe(0);
  });

  it('does nothing when the limit is 0', async () => {
    const limiter = limiterWith(0);
    const increment = jest.spyOn(storage, 'increment');
    for (let i = 0; i < 5; i++) await limiter.recordFailure({ login: 'x', address: '1.2.3.4' });
    expect(await limiter.retryAfterSeconds({ login: 'x', address: '1.2.3.4' })).toBe(0);
    expect(increment).not.toHaveBeenCalled();
  });

  it('keeps neither login names nor addresses in the store', async () => {
    const limiter = limiterWith(5);
    await limiter.recordFailure({ login: 'secret_name', address: '192.0.2.7' });
    const keys = [...storage.storage.keys()].join(' ');
    expect(keys).not.toMatch(/secret_name|192\.0\.2\.7/);
  });
});
