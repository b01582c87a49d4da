import { createPool, type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';

/** Connections each thread opens to the database for Mem0's stores (vectors, entities, history). */
const CONNECTION_LIMIT = 4;

const pools = new Map<string, { pool: Pool; users: number }>();

/**
 * One small mysql2 pool per database URL and thread, shared by the stores one Mem0 instance (or
 * several) makes: its vector store, its entity store and its history each take it and give it
 * back, and the last one to give it back closes it. Module state: a worker thread has its own.
 */
export function takePool(url: string): Pool {
  const shared = pools.get(url);
  if (shared) {
    shared.users++;
    return shared.pool;
  }
  const pool = createPool({
    // mysql2 only knows the mysql: scheme; MariaDB speaks the same protocol.
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: CONNECTION_LIMIT,
    charset: 'UTF8MB4_UNICODE_CI',
  });
  pools.set(url, { pool, users: 1 });
  return pool;
}

export async function releasePool(url: string): Promise<void> {
  const shared = pools.get(url);
  if (!shared) return;
  shared.users--;
  if (shared.users > 0) return;
  pools.delete(url);
  await shared.pool.end();
}

/** The URL, when it names a MySQL or MariaDB database; else a clear error for `what`. */
export function mysqlUrl(url: unknown, what: string): string {
  if (typeof url !== 'string' || !/^(mysql|mariadb):\/\//.test(url)) {
    throw new Error(`${what}: needs a mysql:// or mariadb:// url (the app's DATABASE_URL)`);
  }
  return url;
}

const DEADLOCK = 1213;
const ATTEMPTS = 4;

/**
 * Runs a write again when InnoDB chose it as a deadlock victim (it rolled the statement or the
 * transaction back, so running it again is safe): two writes on neighbouring rows of one user
 * (an add's entity links, a delete, an update) can take their gap locks in opposite orders.
 */
export async function retryingDeadlocks<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if ((error as { errno?: number }).errno !== DEADLOCK || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt * Math.random()));
    }
  }
}

/**
 * Runs `work` in a transaction on one connection of the pool; with `lock`, under that named lock
 * (GET_LOCK, server-wide, so across replicas), taken before the transaction begins and released
 * after it ends: its first read then sees everything the previous holder committed.
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (connection: PoolConnection) => Promise<T>,
  lock?: string,
): Promise<T> {
  const connection = await pool.getConnection();
  try {
    if (lock !== undefined) {
      const [[taken]] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS taken', [
        lock,
        LOCK_WAIT_SECONDS,
      ]);
      if (Number(taken.taken) !== 1) throw new Error(`Lock ${lock} not taken`);
    }
    try {
      await connection.beginTransaction();
      const result = await work(connection);
      await connection.commit();
      return result;
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    } finally {
      if (lock !== undefined) await connection.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    connection.release();
  }
}

const LOCK_WAIT_SECONDS = 10;
