import { AppConfig } from '@app/config';
import { Logger } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';

import { Transactions } from './transactions';

const deadlock = () =>
  new QueryFailedError(
    'UPDATE x',
    [],
    Object.assign(new Error('deadlock'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }),
  );

/** A data source whose transactions record their commits and rollbacks in `events`. */
function setUp() {
  const events: string[] = [];
  const dataSource = {
    options: { type: 'mariadb' },
    transaction: async <T>(work: (manager: EntityManager) => Promise<T>): Promise<T> => {
      const manager = {} as EntityManager;
      try {
        const result = await work(manager);
        events.push('commit');
        return result;
      } catch (error) {
        events.push('rollback');
        throw error;
      }
    },
  };
  const config = { database: { retryAttempts: 3 } } as AppConfig;
  return { events, tx: new Transactions(dataSource as unknown as DataSource, config) };
}

beforeAll(() => Logger.overrideLogger(false));

describe('Transactions.afterCommit', () => {
  it('runs the callback after the commit, and the caller then gets the result', async () => {
    const { events, tx } = setUp();
    const result = await tx.run('t', (manager) => {
      tx.afterCommit(manager, () => events.push('callback'));
      events.push('work');
      return Promise.resolve(42);
    });
    expect(result).toBe(42);
    expect(events).toEqual(['work', 'commit', 'callback']);
  });

  it('never runs it for a transaction that rolled back', async () => {
    const { events, tx } = setUp();
    const failing = tx.run('t', (manager) => {
      tx.afterCommit(manager, () => events.push('callback'));
      return Promise.reject(new Error('constraint'));
    });
    await expect(failing).rejects.toThrow('constraint');
    expect(events).toEqual(['rollback']);
  });

  it('runs it once, for the run that committed, when a conflict ran the work again', async () => {
    const { events, tx } = setUp();
    let runs = 0;
    await tx.run('t', (manager) => {
      const run = ++runs;
      tx.afterCommit(manager, () => events.push(`callback ${run}`));
      return run === 1 ? Promise.reject(deadlock()) : Promise.resolve();
    });
    expect(events).toEqual(['rollback', 'commit', 'callback 2']);
  });

  it('keeps the committed result when a callback throws', async () => {
    const { tx } = setUp();
    const result = tx.run('t', (manager) => {
      tx.afterCommit(manager, () => {
        throw new Error('callback failed');
      });
      return Promise.resolve('stored');
    });
    await expect(result).resolves.toBe('stored');
  });

  it('refuses a manager that is not an open transaction of run', async () => {
    const { tx } = setUp();
    let leaked: EntityManager | undefined;
    await tx.run('t', (manager) => Promise.resolve((leaked = manager)));
    expect(() => tx.afterCommit(leaked!, () => undefined)).toThrow('open Transactions.run');
    expect(() => tx.afterCommit({} as EntityManager, () => undefined)).toThrow();
  });
});
