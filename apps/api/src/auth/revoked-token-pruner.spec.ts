import { RevokedToken } from '@app/database';
import { Logger } from '@nestjs/common';
import { Repository } from 'typeorm';

import { PRUNE_INTERVAL_MS, RevokedTokenPruner } from './revoked-token-pruner';

describe('RevokedTokenPruner', () => {
  let tokens: { delete: jest.Mock };
  let pruner: RevokedTokenPruner;

  beforeEach(() => {
    jest.useFakeTimers();
    tokens = { delete: jest.fn().mockResolvedValue({ affected: 2 }) };
    pruner = new RevokedTokenPruner(tokens as unknown as Repository<RevokedToken>);
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'error').mockImplementation();
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('prunes at start-up and every interval, and stops on shutdown', async () => {
    await pruner.onApplicationBootstrap();
    expect(tokens.delete).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(PRUNE_INTERVAL_MS);
    expect(tokens.delete).toHaveBeenCalledTimes(2);
    await pruner.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(PRUNE_INTERVAL_MS * 3);
    expect(tokens.delete).toHaveBeenCalledTimes(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('logs a database error instead of failing, and tries again next time', async () => {
    tokens.delete.mockRejectedValueOnce(new Error('database is down'));
    await expect(pruner.pruneExpired()).resolves.toBe(0);
    expect(Logger.prototype.error).toHaveBeenCalled();
    await expect(pruner.pruneExpired()).resolves.toBe(2);
  });
});
