import { DataSource } from 'typeorm';
import { MysqlDriver } from 'typeorm/driver/mysql/MysqlDriver';

interface PooledConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
  release(): void;
}

/**
 * Sets `innodb_lock_wait_timeout` on each MySQL/MariaDB connection the app uses, once per
 * physical connection, the first time TypeORM takes it from the pool. The server's default (50 s)
 * would let a request wait that long behind a stuck transaction, per retry; a short wait turns
 * into a 1205 that the retry policy handles, then a 503. mysql2 has no per-connection init
 * statement and TypeORM checks its first connection out before any hook could be attached, so
 * this wraps the driver's `obtainMasterConnection` (pinned by test/database-busy.e2e-spec.ts).
 */
export function limitLockWaits(dataSource: DataSource, seconds: number): void {
  const driver = dataSource.driver;
  if (!(driver instanceof MysqlDriver)) return;
  const obtain = driver.obtainMasterConnection.bind(driver) as () => Promise<PooledConnection>;
  const prepared = new WeakSet<PooledConnection>();
  const statement = `SET SESSION innodb_lock_wait_timeout = ${Math.floor(seconds)}`;
  driver.obtainMasterConnection = async () => {
    const connection = await obtain();
    if (prepared.has(connection)) return connection;
    try {
      await new Promise<void>((resolve, reject) =>
        connection.query(statement, (error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      connection.release();
      throw error;
    }
    prepared.add(connection);
    return connection;
  };
}
