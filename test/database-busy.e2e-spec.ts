import { Message } from '@app/database';
import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

import { TEST_DATABASES, TestDatabase } from './support/databases';
import { bearer, eventually, postTurn, registerUser, TestUser } from './support/test-app';
import { useApp } from './support/use-app';

/** Another client of the same database holding the lock a turn needs, until `release`. */
interface HeldLock {
  release(): Promise<void>;
}

/** MariaDB/MySQL: the session row, locked for update by another connection. */
async function lockSessionRow(url: string, sessionId: string): Promise<HeldLock> {
  const connection = await createConnection(url.replace(/^mariadb:/, 'mysql:'));
  await connection.query('BEGIN');
  await connection.query('SELECT id FROM chat_sessions WHERE id = ? FOR UPDATE', [sessionId]);
  return {
    release: async () => {
      await connection.query('ROLLBACK');
      await connection.end();
    },
  };
}

/** SQLite: the database's write lock, taken by another connection (as a worker process would). */
function lockSqliteWrites(dataDir: string): HeldLock {
  const connection = new Database(join(dataDir, 'chatbot.sqlite'));
  connection.exec('BEGIN IMMEDIATE');
  return {
    release: () => {
      connection.exec('ROLLBACK');
      connection.close();
      return Promise.resolve();
    },
  };
}

/**
 * When the database keeps a write waiting (another transaction holds the lock past the lock wait
 * timeout, on every retry), a turn answers 503 with Retry-After, logs each retry at warn, and
 * leaves no half of the turn behind.
 */
describe.each(TEST_DATABASES)('a database that stays busy, on $name', (db: TestDatabase) => {
  const t = useApp(db, {
    double: true,
    env: {
      DB_LOCK_WAIT_TIMEOUT_SECONDS: '1',
      DB_RETRY_ATTEMPTS: '2',
      MEMORY_WORKERS_ENABLED: 'false',
    },
  });
  const { double } = t;
  let u: TestUser;
  let sessionId: string;

  beforeAll(async () => {
    u = await registerUser(t, 'busy');
    const first = await chat({ message: 'The first question' }).expect(200);
    sessionId = first.body.session_id as string;
  });
  afterEach(() => jest.restoreAllMocks());

  const chat = (body: object) => postTurn(t, u, body);

  const hold = (): Promise<HeldLock> =>
    db.url
      ? lockSessionRow(db.url, sessionId)
      : Promise.resolve(lockSqliteWrites(t.config.dataDir));

  async function contents(): Promise<string[]> {
    const res = await t
      .http()
      .get(`/api/v1/chat/${u.id}/sessions/${sessionId}/messages?limit=100`)
      .set(bearer(u.token))
      .expect(200);
    return (res.body.items as { content: string }[]).map((m) => m.content);
  }

  it('makes every connection wait at most DB_LOCK_WAIT_TIMEOUT_SECONDS for a lock', async () => {
    const dataSource = t.app.get(DataSource);
    // Several at once, so that several pooled connections answer (MySQL/MariaDB).
    const sql = db.url
      ? 'SELECT @@SESSION.innodb_lock_wait_timeout AS wait'
      : 'PRAGMA busy_timeout';
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => dataSource.query<Record<string, unknown>[]>(sql)),
    );
    for (const [row] of answers) expect(Number(Object.values(row)[0])).toBe(db.url ? 1 : 1000);
  });

  it('answers 503 + Retry-After when the question cannot be stored, and stores nothing', async () => {
    const before = await contents();
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const lock = await hold();
    let res;
    try {
      res = await chat({ message: 'Blocked question', session_id: sessionId });
    } finally {
      await lock.release();
    }
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The database is busy with other requests; try again shortly',
      code: 'DATABASE_BUSY',
    });
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ operation: 'chat.saveQuestion', attempt: 1 }),
      'Transient database conflict; running the transaction again',
    );
    expect(await contents()).toEqual(before);
    await chat({ message: 'Later question', session_id: sessionId }).expect(200);
    expect((await contents()).slice(-2)).toEqual(['Later question', 'Echo: Later question']);
  });

  if (db.url) {
    it('when only the reply cannot be stored, takes the question back too', async () => {
      const before = await contents();
      double.setLatency(800, 'chat');
      const pending = chat({ message: 'Question whose reply is blocked', session_id: sessionId });
      const sent = pending.then((res) => res);
      const messages = t.app.get(DataSource).getRepository(Message);
      await eventually(
        async () => messages.existsBy({ content: 'Question whose reply is blocked' }),
        'the question to be stored',
      );
      const lock = await hold();
      let res;
      try {
        res = await sent;
      } finally {
        await lock.release();
      }
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(await contents()).toEqual(before);
    });
  }
});
