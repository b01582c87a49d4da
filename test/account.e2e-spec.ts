import { MemoryStore } from '@app/ai';
import { Mem0Client } from '@app/ai/mem0.client';
import { DomainError, ErrorCode } from '@app/common';
import {
  ApiKey,
  ChatSession,
  MemoryJob,
  Message,
  RevokedToken,
  User,
  UserDeletion,
} from '@app/database';
import Database from 'better-sqlite3';
import type { Memory } from 'mem0ai/oss';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

import { UsersService } from '../apps/api/src/users/users.service';
import { TEST_DATABASES } from './support/databases';
import {
  bearer,
  chatTurn,
  eventually,
  login,
  memoryJobsDrained,
  registerUser,
  TestUser,
} from './support/test-app';
import { useApp } from './support/use-app';

const ME = '/api/v1/auth/me';
const EXPORT = `${ME}/export`;
const ADMIN_USERS = '/api/v1/admin/users';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Account lifecycle on the real app, a real database and real mem0 (its local SQLite stores),
 * with the OpenAI test double as model and embedder: export, self-deletion, admin deletion, and
 * a deletion whose memory erasure has to wait for the memory store.
 */
describe.each(TEST_DATABASES)('account lifecycle on $name', (db) => {
  const t = useApp(db, { double: true, admin: true });
  const admin = t.admin;
  let store: MemoryStore;
  let dataSource: DataSource;

  beforeAll(() => {
    store = t.app.get(MemoryStore);
    dataSource = t.app.get(DataSource);
  });
  afterEach(() => jest.restoreAllMocks());

  const drain = () => memoryJobsDrained(t);
  const chat = (user: TestUser, message: string, sessionId?: string) =>
    chatTurn(t, user, message, sessionId);

  /** A user who told the bot about `city` in two sessions, with memories extracted for real. */
  async function userWithData(city: string): Promise<TestUser & { memoryIds: string[] }> {
    const user = await registerUser(t);
    const first = await chat(user, `My name is ${user.username}. I live in ${city}.`);
    await chat(user, `I love the harbour of ${city}.`, first.session_id);
    await chat(user, `My favourite food in ${city} is soup.`);
    // A second token, logged out: the user now has a revoked_tokens row.
    const spare = await login(t, user.username, user.password);
    await t.http().post('/api/v1/auth/logout').set(bearer(spare)).expect(204);
    // A personal API key: an api_keys row.
    await t
      .http()
      .post('/api/v1/auth/api-keys')
      .set(bearer(user.token))
      .send({ name: `${city} key` })
      .expect(201);
    await drain();
    const memories = await store.list(user.id);
    expect(memories.length).toBeGreaterThanOrEqual(3);
    // An edit leaves an UPDATE row (old and new text) in mem0's history.
    await store.update(user.id, memories[0].id, `I moved to ${city} in 2020.`);
    return { ...user, memoryIds: memories.map((m) => m.id) };
  }

  /** Rows of every table that holds something of the user. */
  async function rowsOf(userId: string) {
    const count = (entity: { new (): object }) =>
      dataSource.getRepository(entity).countBy({ [entity === User ? 'id' : 'userId']: userId });
    return {
      users: await count(User),
      chat_sessions: await count(ChatSession),
      messages: await count(Message),
      memory_jobs: await count(MemoryJob),
      revoked_tokens: await count(RevokedToken),
      api_keys: await count(ApiKey),
    };
  }

  const deletionsOf = (userId: string) => dataSource.getRepository(UserDeletion).findBy({ userId });

  /** mem0's own instance, to look where MemoryStore (which checks owners) does not. */
  const mem0 = () => {
    const client: unknown = t.app.get(Mem0Client);
    return (client as { instance(): Promise<Memory> }).instance();
  };

  /**
   * Every text mem0 keeps on disk: history rows, stored messages, vector and entity payloads, in
   * its SQLite files or, on MySQL/MariaDB, in its tables.
   */
  async function textsOnDisk(): Promise<string[]> {
    const dir = join(t.config.dataDir, 'mem0');
    const read = (file: string, sql: string) => {
      if (!existsSync(join(dir, file))) return [];
      const sqlite = new Database(join(dir, file), { readonly: true, fileMustExist: true });
      try {
        return (sqlite.prepare(sql).all() as Record<string, string | null>[]).flatMap((row) =>
          Object.values(row).filter((v): v is string => typeof v === 'string'),
        );
      } finally {
        sqlite.close();
      }
    };
    return [
      ...read('history.db', 'SELECT previous_value, new_value FROM memory_history'),
      ...read('history.db', 'SELECT session_scope, content FROM messages'),
      ...read('vectors.db', 'SELECT payload FROM memories'),
      ...read('vectors.db', 'SELECT payload FROM memories_entities'),
      // The keyword index keeps lowercased words in its pages until they are merged away.
      ...read('vectors.db', 'SELECT lower(CAST(block AS TEXT)) AS block FROM memories_fts_data'),
      ...(await textsInTables()),
    ];
  }

  /** On MySQL/MariaDB: the SQL stores' rows (their FULLTEXT index cannot be read from here). */
  async function textsInTables(): Promise<string[]> {
    if (dataSource.options.type === 'better-sqlite3') return [];
    const read = async (sql: string) =>
      (await dataSource.query<Record<string, string | null>[]>(sql)).flatMap((row) =>
        Object.values(row).filter((v): v is string => typeof v === 'string'),
      );
    return [
      ...(await read('SELECT previous_value, new_value FROM mem0_history')),
      ...(await read('SELECT session_scope, owner, content FROM mem0_messages')),
      ...(await read('SELECT owner, payload, keywords FROM mem0_vectors')),
    ];
  }

  /** Nothing of the user is left anywhere mem0 can answer from, nor in its files. */
  async function expectMemoriesErased(user: TestUser & { memoryIds: string[] }, city: string) {
    expect(await store.list(user.id)).toEqual([]);
    expect(await store.search(user.id, city, 50)).toEqual([]);
    const memory = await mem0();
    const everyone = await memory.search(`${city} harbour soup`, {
      filters: { user_id: '*' },
      topK: 100,
    });
    expect(JSON.stringify(everyone.results)).not.toContain(city);
    for (const id of user.memoryIds) {
      expect(await store.get(user.id, id)).toBeNull();
      expect(await memory.get(id)).toBeNull();
      expect(await memory.history(id)).toEqual([]);
    }
    const leftovers = (await textsOnDisk()).filter(
      (text) => text.includes(city.toLowerCase()) || text.includes(city) || text.includes(user.id),
    );
    expect(leftovers).toEqual([]);
  }

  async function expectAccountGone(user: TestUser & { memoryIds: string[] }, city: string) {
    expect(await rowsOf(user.id)).toEqual({
      users: 0,
      chat_sessions: 0,
      messages: 0,
      memory_jobs: 0,
      revoked_tokens: 0,
      api_keys: 0,
    });
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(401);
    await t.http().get(ME).set(bearer(user.token)).expect(401);
    await t.http().get(EXPORT).set(bearer(user.token)).expect(401);
    expect(await deletionsOf(user.id)).toEqual([]);
    await expectMemoriesErased(user, city);
  }

  describe('export', () => {
    it('holds the caller’s sessions, messages and memories, and nothing of anyone else', async () => {
      const alice = await userWithData('Lisbon');
      const bob = await userWithData('Oslo');

      const res = await t.http().get(EXPORT).set(bearer(alice.token)).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['content-disposition']).toMatch(
        new RegExp(
          `^attachment; filename="chatbot-export-${alice.username}-\\d{4}-\\d{2}-\\d{2}\\.json"$`,
        ),
      );
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.body as {
        user: object;
        sessions: { id: string; messages: { content: string }[] }[];
        memories: { id: string; memory: string; metadata: object }[];
      };
      expect(body).toEqual({
        exported_at: expect.stringMatching(ISO),
        user: {
          id: alice.id,
          username: alice.username,
          email: alice.email,
          role: 'user',
          created_at: expect.stringMatching(ISO),
        },
        sessions: expect.any(Array),
        api_keys: [
          {
            id: expect.any(String),
            name: 'Lisbon key',
            prefix: expect.stringMatching(/^cbk_/),
            created_at: expect.stringMatching(ISO),
            last_used_at: null,
            expires_at: null,
          },
        ],
        memories: expect.any(Array),
        memories_status: 'ok',
      });
      expect(body.sessions).toHaveLength(2);
      expect(body.sessions[0]).toEqual({
        id: expect.any(String),
        title: expect.any(String),
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
        messages: [
          {
            id: expect.any(String),
            role: 'user',
            content: `My name is ${alice.username}. I live in Lisbon.`,
            created_at: expect.stringMatching(ISO),
          },
          expect.objectContaining({ role: 'assistant' }),
          expect.objectContaining({ role: 'user', content: 'I love the harbour of Lisbon.' }),
          expect.objectContaining({ role: 'assistant' }),
        ],
      });
      expect(body.sessions[1].messages).toHaveLength(2);
      expect(body.memories.map((m) => m.id).sort()).toEqual([...alice.memoryIds].sort());
      expect(body.memories).toContainEqual({
        id: expect.any(String),
        memory: 'I moved to Lisbon in 2020.',
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
        metadata: expect.objectContaining({ session_id: expect.any(String) }),
      });
      const text = JSON.stringify(body);
      expect(text).not.toContain('Oslo');
      expect(text).not.toContain(bob.id);
      expect(text).not.toContain(bob.username);
      expect(text).not.toContain('password');
    });

    it('still exports the database when the memory store is down', async () => {
      const user = await registerUser(t);
      await chat(user, 'Hello there.');
      jest
        .spyOn(store, 'list')
        .mockRejectedValue(
          new DomainError(ErrorCode.MemoryStoreUnavailable, 'The memory store is down'),
        );
      const res = await t.http().get(EXPORT).set(bearer(user.token)).expect(200);
      expect(res.body).toMatchObject({ memories: [], memories_status: 'unavailable' });
      expect(res.body.sessions).toHaveLength(1);
      await drain();
    });

    it('needs a token', async () => {
      await t.http().get(EXPORT).expect(401);
    });
  });

  describe('DELETE /auth/me', () => {
    it('refuses a wrong or missing password and deletes nothing', async () => {
      const user = await userWithData('Quito');
      const before = await rowsOf(user.id);
      const wrong = await t
        .http()
        .delete(ME)
        .set(bearer(user.token))
        .send({ password: 'not the password' })
        .expect(401);
      expect(wrong.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid password',
        code: 'INVALID_CREDENTIALS',
      });
      await t.http().delete(ME).set(bearer(user.token)).send({}).expect(400);
      await t
        .http()
        .delete(ME)
        .set(bearer(user.token))
        .send({ password: user.password, extra: 1 })
        .expect(400);
      await t.http().delete(ME).send({ password: user.password }).expect(401);
      expect(await rowsOf(user.id)).toEqual(before);
      expect(before).toMatchObject({
        users: 1,
        chat_sessions: 2,
        messages: 6,
        revoked_tokens: 1,
        api_keys: 1,
      });
      expect((await store.list(user.id)).length).toBe(user.memoryIds.length);
      await t.http().get(ME).set(bearer(user.token)).expect(200);
    });

    it('with the password deletes the account, its data and its memories', async () => {
      const user = await userWithData('Nairobi');
      const other = await userWithData('Hanoi');
      const otherRows = await rowsOf(other.id);
      await t
        .http()
        .delete(ME)
        .set(bearer(user.token))
        .send({ password: user.password })
        .expect(204);
      await expectAccountGone(user, 'Nairobi');
      expect(await rowsOf(other.id)).toEqual(otherRows);
      expect((await store.list(other.id)).length).toBe(other.memoryIds.length);
      expect(await mem0().then((m) => m.history(other.memoryIds[0]))).not.toEqual([]);
    });

    it('lets an admin delete themself only while another admin exists', async () => {
      const res = await t
        .http()
        .delete(ME)
        .set(bearer(admin.token))
        .send({ password: admin.password })
        .expect(409);
      expect(res.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'The last admin cannot delete themself',
        code: 'LAST_ADMIN',
      });
      await t.http().get(ME).set(bearer(admin.token)).expect(200);

      const second = {
        username: 'second_admin',
        email: 'second@example.com',
        password: 'pw 12345678',
      };
      const { user } = await t.app
        .get(UsersService)
        .ensureAdmin(second, { promoteExisting: false });
      const token = await login(t, second.username, second.password);
      await t.http().delete(ME).set(bearer(token)).send({ password: second.password }).expect(204);
      expect(await rowsOf(user.id)).toMatchObject({ users: 0 });
      await t.http().get(ME).set(bearer(admin.token)).expect(200);
    });
  });

  describe('DELETE /admin/users/{user_id}', () => {
    it('deletes the user, their data and their memories', async () => {
      const user = await userWithData('Bogota');
      await t.http().delete(`${ADMIN_USERS}/${user.id}`).set(bearer(admin.token)).expect(204);
      await expectAccountGone(user, 'Bogota');
      const again = await t.http().delete(`${ADMIN_USERS}/${user.id}`).set(bearer(admin.token));
      expect(again.status).toBe(404);
      expect(again.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'User not found',
        code: 'USER_NOT_FOUND',
      });
    });

    it('refuses self-deletion, unknown and malformed ids, and non-admins', async () => {
      const me = await t.http().get(ME).set(bearer(admin.token)).expect(200);
      const self = await t
        .http()
        .delete(`${ADMIN_USERS}/${me.body.id as string}`)
        .set(bearer(admin.token))
        .expect(409);
      expect(self.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'You cannot delete yourself',
        code: 'CANNOT_CHANGE_SELF',
      });
      await t.http().delete(`${ADMIN_USERS}/${randomUUID()}`).set(bearer(admin.token)).expect(404);
      for (const bad of ['not-a-uuid', '*', "1'%20OR%20'1'='1", '0'.repeat(36)]) {
        const res = await t.http().delete(`${ADMIN_USERS}/${bad}`).set(bearer(admin.token));
        expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      }
      const user = await registerUser(t);
      const victim = await registerUser(t);
      await t.http().delete(`${ADMIN_USERS}/${victim.id}`).set(bearer(user.token)).expect(403);
      await t.http().delete(`${ADMIN_USERS}/${victim.id}`).expect(401);
      expect(await rowsOf(victim.id)).toMatchObject({ users: 1 });
      expect(await rowsOf(me.body.id as string)).toMatchObject({ users: 1 });
    });
  });

  describe('when the memory store is down during a deletion', () => {
    it('deletes the user at once and erases the memories once the store is back', async () => {
      const user = await userWithData('Tbilisi');
      const down = jest
        .spyOn(store, 'eraseUser')
        .mockRejectedValue(
          new DomainError(ErrorCode.MemoryStoreUnavailable, 'The memory store is unavailable'),
        );

      await t.http().delete(`${ADMIN_USERS}/${user.id}`).set(bearer(admin.token)).expect(204);
      expect(await rowsOf(user.id)).toMatchObject({ users: 0, messages: 0 });
      await t.http().get(ME).set(bearer(user.token)).expect(401);
      const [pending] = await deletionsOf(user.id);
      expect(pending).toMatchObject({
        status: 'pending',
        lastError: 'The memory store is unavailable',
      });
      expect(pending.attempts).toBeGreaterThanOrEqual(1);
      // The worker keeps retrying while the store is down; the memories are still there.
      await eventually(() => Promise.resolve(down.mock.calls.length >= 3), 'retries');
      expect(await deletionsOf(user.id)).toEqual([
        expect.objectContaining({ status: 'pending', id: pending.id }),
      ]);
      expect((await store.list(user.id)).length).toBe(user.memoryIds.length);

      down.mockRestore();
      await eventually(async () => (await deletionsOf(user.id)).length === 0, 'the erasure');
      await expectAccountGone(user, 'Tbilisi');
    });
  });
});
