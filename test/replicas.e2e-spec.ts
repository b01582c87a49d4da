import { MIGRATIONS } from '@app/database';
import { createConnection } from 'mysql2/promise';
import { once } from 'node:events';

import { SiblingDatabase, siblingDatabase, TEST_DATABASES } from './support/databases';
import { freePort, runEntry, RunningProcess } from './support/process';
import { newKeyPrefix, TEST_REDIS_URL } from './support/redis';
import { eventually, newDataDir, TEST_JWT_SECRET } from './support/test-app';
import { useDouble } from './support/use-app';

const PASSWORD = 'a long enough password';
const LOGIN_FAILURES = 4;
const CHAT_PER_MINUTE = 6;
const JSON_BODY = { 'Content-Type': 'application/json' };

interface Api {
  base: string;
  process: RunningProcess;
}

interface User {
  id: string;
  username: string;
  token: string;
}

/**
 * Replicas as production runs them: two API processes (extraction off) and two worker processes
 * on one MariaDB database and one Redis, memory on the relational store, each process with a
 * DATA_DIR of its own (nothing on a local disk is shared). Requests go to both APIs. Runs where
 * a MySQL/MariaDB test database is given (CI).
 */
describe.each(TEST_DATABASES.filter((db) => db.url))('replicas on $name and Redis', (db) => {
  const double = useDouble();
  let database: SiblingDatabase;
  const processes: RunningProcess[] = [];
  let a: Api;
  let b: Api;

  const env = () => ({
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    DATABASE_URL: database.url!,
    JWT_SECRET: TEST_JWT_SECRET,
    BCRYPT_COST: '10',
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: double.baseURL,
    EMBEDDING_DIMS: '64',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    THROTTLE_LOGIN_FAILURES: String(LOGIN_FAILURES),
    THROTTLE_CHAT_PER_MINUTE: String(CHAT_PER_MINUTE),
    THROTTLE_REGISTER_PER_HOUR: '0',
    THROTTLE_LOGIN_PER_HOUR: '0',
    THROTTLE_MEMORY_PER_MINUTE: '0',
    THROTTLE_SESSIONS_PER_HOUR: '0',
    MEMORY_JOB_POLL_MS: '100',
    // The failed-login test acts from an address of its own (X-Forwarded-For).
    TRUST_PROXY: 'true',
    DATA_DIR: newDataDir(),
  });
  const prefix = newKeyPrefix();

  async function startApi(): Promise<Api> {
    const port = await freePort();
    const running = runEntry('apps/api/src/main.ts', {
      ...env(),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      MEMORY_WORKERS_ENABLED: 'false',
      SHUTDOWN_DRAIN_SECONDS: '2',
    });
    processes.push(running);
    return { base: `http://127.0.0.1:${port}`, process: running };
  }

  function startWorker(): RunningProcess {
    const running = runEntry('apps/worker/src/main.ts', env());
    processes.push(running);
    return running;
  }

  async function ready(api: Api): Promise<void> {
    try {
      await eventually(
        async () => (await fetch(`${api.base}/health/ready`).catch(() => null))?.status === 200,
        `${api.base} to be ready`,
        120_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; its output:\n${api.process.output()}`);
    }
  }

  function send(api: Api, method: string, path: string, body?: object, token?: string) {
    return fetch(`${api.base}${path}`, {
      method,
      headers: { ...JSON_BODY, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  let users = 0;
  async function register(api: Api): Promise<User> {
    const username = `replica_${++users}`;
    const email = `${username}@example.com`;
    expect(
      (await send(api, 'POST', '/api/v1/auth/register', { username, email, password: PASSWORD }))
        .status,
    ).toBe(201);
    const res = await send(api, 'POST', '/api/v1/auth/login', { username, password: PASSWORD });
    const body = (await res.json()) as { access_token: string; user: { id: string } };
    return { id: body.user.id, username, token: body.access_token };
  }

  const turn = (api: Api, user: User, message: string) =>
    send(api, 'POST', `/api/v1/chat/${user.id}`, { message }, user.token);

  async function sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    const connection = await createConnection({
      uri: database.url!.replace(/^mariadb:/, 'mysql:'),
    });
    try {
      const [rows] = await connection.query(query, params);
      return rows as T[];
    } finally {
      await connection.end();
    }
  }

  beforeAll(async () => {
    database = await siblingDatabase(db, 'replicas');
    // All four at once on an empty database: the schema is made once.
    [a, b] = await Promise.all([startApi(), startApi()]);
    startWorker();
    startWorker();
    await Promise.all([ready(a), ready(b)]);
  }, 180_000);

  afterAll(async () => {
    for (const { child } of processes) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    }
    await database?.drop();
  }, 60_000);

  it('came up together on an empty database with one schema, migrated once', async () => {
    const applied = await sql<{ name: string }>('SELECT name FROM migrations');
    expect(applied.map((m) => m.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    const migrators = processes.filter((p) => p.output().includes('Applied migrations'));
    expect(migrators).toHaveLength(1);
  });

  it('shares the failed-login budget across replicas', async () => {
    const user = await register(a);
    const loginFrom = (api: Api, password: string) =>
      fetch(`${api.base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { ...JSON_BODY, 'X-Forwarded-For': '10.9.0.1' },
        body: JSON.stringify({ username: user.username, password }),
      });
    for (let n = 0; n < LOGIN_FAILURES; n++) {
      expect((await loginFrom(n % 2 ? b : a, `wrong ${n}`)).status).toBe(401);
    }
    for (const api of [a, b]) expect((await loginFrom(api, PASSWORD)).status).toBe(429);
  });

  it('shares the chat limit across replicas', async () => {
    const user = await register(b);
    for (let n = 0; n < CHAT_PER_MINUTE; n++) {
      expect((await turn(n % 2 ? b : a, user, `Turn ${n}.`)).status).toBe(200);
    }
    for (const api of [a, b]) expect((await turn(api, user, 'One more.')).status).toBe(429);
  });

  it('rejects on one replica a token logged out on the other', async () => {
    const user = await register(a);
    expect((await send(b, 'GET', '/api/v1/auth/me', undefined, user.token)).status).toBe(200);
    expect((await send(a, 'POST', '/api/v1/auth/logout', undefined, user.token)).status).toBe(204);
    expect((await send(b, 'GET', '/api/v1/auth/me', undefined, user.token)).status).toBe(401);
  });

  it('finds through one replica, with its history, a fact told through the other', async () => {
    const user = await register(a);
    expect((await turn(a, user, 'I live in Lisbon near the harbour.')).status).toBe(200);
    const found = await eventually(
      async () => {
        const res = await send(
          b,
          'POST',
          '/api/v1/memories/search',
          { query: 'Where do I live?' },
          user.token,
        );
        const body = (await res.json()) as { results: { id: string; memory: string }[] };
        return body.results.find((m) => m.memory.includes('Lisbon'));
      },
      'the fact to be extracted by a worker and found through the other replica',
      60_000,
    );
    // Mem0 writes a memory's history row just after the memory itself.
    const items = await eventually(async () => {
      const history = await send(
        a,
        'GET',
        `/api/v1/memories/${found.id}/history`,
        undefined,
        user.token,
      );
      expect(history.status).toBe(200);
      const body = (await history.json()) as { items: { action: string; new_value: string }[] };
      return body.items.length > 0 && body.items;
    }, 'the history row of the memory');
    expect(items).toEqual([expect.objectContaining({ action: 'ADD', new_value: found.memory })]);
  });

  it('erases an account deleted through one replica everywhere: rows, vectors, entities, history', async () => {
    const user = await register(b);
    expect((await turn(b, user, 'My sister Ana lives in Porto.')).status).toBe(200);
    const memory = await eventually(
      async () => {
        const res = await send(a, 'GET', '/api/v1/memories', undefined, user.token);
        const body = (await res.json()) as { items: { id: string }[] };
        return body.items[0];
      },
      'the memory to be extracted',
      60_000,
    );
    // Mem0 writes the memory row first, then its entities and the conversation: wait for all.
    const before = await eventually(
      async () => {
        const stored = await storedFor(user.id, memory.id);
        return Object.values(stored).every((rows) => rows > 0) ? stored : undefined;
      },
      'every kind of row about the user to be stored',
      30_000,
    ).catch(async () => storedFor(user.id, memory.id));
    for (const [kind, rows] of Object.entries(before)) {
      expect({ kind, stored: rows > 0 }).toEqual({ kind, stored: true });
    }

    const deleted = await send(a, 'DELETE', '/api/v1/auth/me', { password: PASSWORD }, user.token);
    expect(deleted.status).toBe(204);
    await eventually(
      async () => JSON.stringify(await storedFor(user.id, memory.id)) === JSON.stringify(NOTHING),
      'everything about the user to be erased',
      30_000,
    );
    expect((await send(b, 'GET', '/api/v1/auth/me', undefined, user.token)).status).toBe(401);
  });

  const NOTHING = {
    users: 0,
    sessions: 0,
    messages: 0,
    vectors: 0,
    entities: 0,
    history: 0,
    mem0Messages: 0,
  };

  /** What the database still holds about a user and one of their memories, per kind. */
  async function storedFor(userId: string, memoryId: string) {
    const count = async (query: string, params: unknown[]) =>
      Number((await sql<{ n: number }>(query, params))[0].n);
    return {
      users: await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', [userId]),
      sessions: await count('SELECT COUNT(*) AS n FROM chat_sessions WHERE user_id = ?', [userId]),
      messages: await count(
        'SELECT COUNT(*) AS n FROM messages m JOIN chat_sessions s ON s.id = m.session_id WHERE s.user_id = ?',
        [userId],
      ),
      vectors: await count(
        "SELECT COUNT(*) AS n FROM mem0_vectors WHERE collection = 'memories' AND owner = ?",
        [userId],
      ),
      entities: await count(
        "SELECT COUNT(*) AS n FROM mem0_vectors WHERE collection = 'memories_entities' AND owner = ?",
        [userId],
      ),
      history: await count('SELECT COUNT(*) AS n FROM mem0_history WHERE memory_id = ?', [
        memoryId,
      ]),
      mem0Messages: await count('SELECT COUNT(*) AS n FROM mem0_messages WHERE owner = ?', [
        userId,
      ]),
    };
  }

  it('finishes every request a replica accepted after SIGTERM, while the other serves the rest', async () => {
    const user = await register(a);
    const other = await register(b);
    double.setLatency(800, 'chat');
    try {
      const turns = Array.from({ length: CHAT_PER_MINUTE - 1 }, (_, i) =>
        turn(a, user, `In flight ${i}.`),
      );
      await eventually(
        () =>
          Promise.resolve(
            double.chatRequests().filter((r) => JSON.stringify(r).includes('In flight')).length >=
              CHAT_PER_MINUTE - 1,
          ),
        'the turns to reach the model',
      );
      a.process.child.kill('SIGTERM');
      const exited = once(a.process.child, 'exit');
      await eventually(
        async () => (await fetch(`${a.base}/health/ready`).catch(() => null))?.status === 503,
        'the signalled replica to answer 503 on readiness',
        2_000,
      );
      expect((await fetch(`${a.base}/health/live`)).status).toBe(200);
      expect((await turn(b, other, 'Served by the other replica.')).status).toBe(200);
      const answers = await Promise.all(turns);
      expect(answers.map((r) => r.status)).toEqual(Array(CHAT_PER_MINUTE - 1).fill(200));
      await exited;
      expect((await send(b, 'GET', '/api/v1/auth/me', undefined, user.token)).status).toBe(200);
    } finally {
      double.setLatency(0, 'chat');
    }
  });
});
