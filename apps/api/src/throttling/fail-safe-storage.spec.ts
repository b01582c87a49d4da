import { DomainError, ErrorCode } from '@app/common';
import { ThrottlerStorageService } from '@nestjs/throttler';

import { FailSafeStorage, LIMITS_UNAVAILABLE_RETRY_AFTER_SECONDS } from './fail-safe-storage';

describe('FailSafeStorage', () => {
  const health = { failed: jest.fn(), succeeded: jest.fn() };
  const inner = new ThrottlerStorageService();
  const storage = new FailSafeStorage(
    inner,
    (name) => (name === 'login' ? 'closed' : 'open'),
    health,
  );

  beforeEach(() => jest.clearAllMocks());
  afterAll(() => inner.onApplicationShutdown());

  it('passes counts through while the store answers, and says so', async () => {
    expect(await storage.increment('k', 60_000, 1, 60_000, 'chat')).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
    expect(await storage.increment('k', 60_000, 1, 60_000, 'chat')).toMatchObject({
      isBlocked: true,
    });
    expect(health.succeeded).toHaveBeenCalledTimes(2);
    expect(health.failed).not.toHaveBeenCalled();
  });

  describe('when the store fails', () => {
    const down = new Error('connect ECONNREFUSED');
    beforeEach(() => jest.spyOn(inner, 'increment').mockRejectedValue(down));
    afterEach(() => jest.restoreAllMocks());

    it('lets an open limit through, counting nothing', async () => {
      expect(await storage.increment('k', 60_000, 1, 60_000, 'chat')).toEqual({
        totalHits: 0,
        timeToExpire: 0,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      expect(health.failed).toHaveBeenCalledWith(down);
    });

    it('refuses a closed limit with 503 RATE_LIMIT_UNAVAILABLE and a Retry-After', async () => {
      const refused = storage.increment('k', 60_000, 1, 60_000, 'login');
      await expect(refused).rejects.toBeInstanceOf(DomainError);
      await expect(refused).rejects.toMatchObject({
        code: ErrorCode.RateLimitUnavailable,
        retryAfterSeconds: LIMITS_UNAVAILABLE_RETRY_AFTER_SECONDS,
      });
      expect(health.failed).toHaveBeenCalledWith(down);
      expect(health.succeeded).not.toHaveBeenCalled();
    });
  });
});
