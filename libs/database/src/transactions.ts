import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';

import { DEFAULT_RETRY_POLICY, retryTransient, RetryPolicy } from './retry-policy';

export type DatabaseWork<T> = (manager: EntityManager) => Promise<T>;

/**
 * The one way the application writes to its database, so that every write gets the same
 * treatment under concurrency:
 *
 * - a transient conflict (deadlock, lock wait timeout, SQLite busy) runs the whole transaction
 *   again with jittered backoff, logged at warn with the attempt; when the attempts run out the
 *   caller gets DATABASE_BUSY (503 + Retry-After), never a driver error;
 * - on SQLite, writes run one at a time: TypeORM shares its single better-sqlite3 connection, so a
 *   transaction begun while another is open would nest in it as a savepoint, and a rollback of
 *   either would undo the other's writes (and a plain statement issued meanwhile would join it).
 *
 * Work handed to `run` uses only the manager it is given and never calls back into this class
 * (except `afterCommit`, which only registers). Only the database work is repeated: anything the
 * caller did before (a model call) is not.
 * Lock order inside a transaction is documented in docs/architecture.md ("Locking rules").
 */
@Injectable()
export class Transactions {
  private readonly logger = new Logger(Transactions.name);
  private readonly policy: RetryPolicy;
  private readonly oneAtATime: boolean;
  private tail: Promise<unknown> = Promise.resolve();
  /** What to do once each open transaction of `run` commits, by its manager. */
  private readonly onCommit = new WeakMap<EntityManager, (() => void)[]>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, attempts: config.database.retryAttempts };
    this.oneAtATime = dataSource.options.type === 'better-sqlite3';
  }

  /** `work` in one transaction, run again whole on a transient conflict. */
  run<T>(operation: string, work: DatabaseWork<T>, isolation?: IsolationLevel): Promise<T> {
    return this.retrying(operation, async () => {
      const committed: (() => void)[] = [];
      const tracked: DatabaseWork<T> = (manager) => {
        this.onCommit.set(manager, committed);
        return work(manager).finally(() => this.onCommit.delete(manager));
      };
      const result = await (isolation
        ? this.dataSource.transaction(isolation, tracked)
        : this.dataSource.transaction(tracked));
      for (const callback of committed) this.settle(operation, callback);
      return result;
    });
  }

  /**
   * Runs `callback` once the transaction of `manager` (one handed out by `run`) has committed:
   * never for a run that rolled back, once for the run that committed. For what must not happen
   * before the rows are visible to others, such as waking a worker that will look for them.
   */
  afterCommit(manager: EntityManager, callback: () => void): void {
    const committed = this.onCommit.get(manager);
    if (!committed) throw new Error('afterCommit needs the manager of an open Transactions.run');
    committed.push(callback);
  }

  /** One statement (autocommit), retried the same way. */
  write<T>(operation: string, work: DatabaseWork<T>): Promise<T> {
    return this.retrying(operation, () => work(this.dataSource.manager));
  }

  private retrying<T>(operation: string, once: () => Promise<T>): Promise<T> {
    return retryTransient(() => this.exclusive(once), this.policy, {
      onRetry: (error, attempt, delayMs) =>
        this.logger.warn(
          { err: error, operation, attempt, delay_ms: delayMs },
          'Transient database conflict; running the transaction again',
        ),
    });
  }

  /** The transaction is committed: a failing callback cannot undo it, so it is only logged. */
  private settle(operation: string, callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.logger.error({ err: error, operation }, 'An after-commit callback failed');
    }
  }

  private exclusive<T>(once: () => Promise<T>): Promise<T> {
    if (!this.oneAtATime) return once();
    const result = this.tail.then(once, once);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
