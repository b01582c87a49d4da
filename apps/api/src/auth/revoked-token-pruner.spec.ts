import { Logger } from '@nestjs/common';

import { PRUNE_INTERVAL_MS, RevokedTokenPruner } from './revoked-token-pruner';
import { RevokedTokensRepository } from './revoked-tokens.repository';

describe('RevokedTokenPruner', () => {
  let tokens: { deleteExpired: jest.Mock };
  let pruner: RevokedTokenPruner;

  beforeEach(() => {
    jest.useFakeTimers();
    tokens = { deleteExpired: jest.fn().mockResolvedValue(2) };
    pruner = new RevokedTokenPruner(tokens as unknown as RevokedTokensRepository);
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'error').mockImplementation();
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('prunes at start-up and every interval, and stops on shutdown', async () => {
    await pruner.onApplicationBootstrap();
    expect(tokens.deleteExpired).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(PRUNE_INTERVAL_MS);
    expect(tokens.deleteExpired).toHaveBeenCalledTimes(2);
    await pruner.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(PRUNE_INTERVAL_MS * 3);
    expect(tokens.deleteExpired).toHaveBeenCalledTimes(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('logs a database error instead of failing, and tries again next time', async () => {
    tokens.deleteExpired.mockRejectedValueOnce(new Error('database is down'));
    await expect(pruner.pruneExpired()).resolves.toBe(0);
    expect(Logger.prototype.error).toHaveBeenCalled();
    await expect(pruner.pruneExpired()).resolves.toBe(2);
  });
});
