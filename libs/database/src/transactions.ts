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
 * Work handed to `run` uses only the manager it is given and never calls back into this class.
 * Only the database work is repeated: anything the caller did before (a model call) is not.
 * Lock order inside a transaction is documented in docs/architecture.md ("Locking rules").
 */
@Injectable()
export class Transactions {
  private readonly logger = new Logger(Transactions.name);
  private readonly policy: RetryPolicy;
  private readonly oneAtATime: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, attempts: config.database.retryAttempts };
    this.oneAtATime = dataSource.options.type === 'better-sqlite3';
  }

  /** `work` in one transaction, run again whole on a transient conflict. */
  run<T>(operation: string, work: DatabaseWork<T>, isolation?: IsolationLevel): Promise<T> {
    return this.retrying(operation, () =>
      isolation ? this.dataSource.transaction(isolation, work) : this.dataSource.transaction(work),
    );
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

  private exclusive<T>(once: () => Promise<T>): Promise<T> {
    if (!this.oneAtATime) return once();
    const result = this.tail.then(once, once);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
