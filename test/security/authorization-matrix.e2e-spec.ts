import { MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

import { MemoryJobWorker } from '@app/memory-jobs/memory-job.worker';
import { memoryJobRow } from '../support/builders';
import { TEST_DATABASES } from '../support/databases';
import {
  bearer,
  call,
  chatTurn,
  eventually,
  login,
  memoryJobsDone,
  registerUser,
  TestUser,
} from '../support/test-app';
import { useApp } from '../support/use-app';

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  pathParams: string[];
  hasBody: boolean;
  isPublic: boolean;
}

/** A body that passes validation for each route that takes one, so that a 400 cannot hide a leak. */
const VALID_BODIES: Record<string, object> = {
  'post /api/v1/chat/{user_id}': { message: 'hello from someone else' },
  'post /api/v1/chat/{user_id}/sessions': { title: 'intruder' },
  'patch /api/v1/chat/{user_id}/sessions/{session_id}': { title: 'renamed by intruder' },
  'put /api/v1/memories/{id}': { memory: 'overwritten by intruder' },
  'post /api/v1/memories/search': { query: 'anything' },
  'patch /api/v1/admin/users/{user_id}': { role: 'admin' },
  'delete /api/v1/auth/me': { password: 'correct horse battery' },
  'post /api/v1/auth/register': { username: 'x', email: 'x', password: 'x' },
  'post /api/v1/auth/login': { username: 'x', password: 'x' },
  // A front end's task prompt: answered, never stored, so that the snapshots stay comparable.
  'post /v1/chat/completions': {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: '### Task: suggest a title' }],
  },
  'post /api/v1/auth/api-keys': { name: 'intruder' },
};

/**
 * Object-level authorization, generated from the OpenAPI document: every route that takes an id
 * is called by a second user with the first user's ids (as given, and in upper case), and must
 * answer 403 or 404 and change nothing. A route with a path parameter this table cannot fill fails the suite, so a new route
 * is covered or noticed.
 */
describe.each(TEST_DATABASES)('authorization matrix on $name', (db) => {
  const t = useApp(db, { double: true });
  let alice: TestUser;
  let mallory: TestUser;
  let ids: Record<string, string>;
  /** Alice's personal API key: no REST route takes one. */
  let aliceKey: string;
  let operations: Operation[];

  async function snapshot(u: TestUser): Promise<unknown> {
    const base = `/api/v1/chat/${u.id}/sessions`;
    const sessions = await t.http().get(base).set(bearer(u.token)).expect(200);
    const messages = await Promise.all(
      sessions.body.items.map(
        async (s: { id: string }) =>
          (await t.http().get(`${base}/${s.id}/messages`).set(bearer(u.token)).expect(200)).body,
      ),
    );
    const memories = await t.http().get('/api/v1/memories').set(bearer(u.token)).expect(200);
    const me = await t.http().get('/api/v1/auth/me').set(bearer(u.token)).expect(200);
    const keys = await t.http().get('/api/v1/auth/api-keys').set(bearer(u.token)).expect(200);
    return {
      sessions: sessions.body,
      messages,
      memories: memories.body,
      me: me.body,
      keys: keys.body,
    };
  }

  beforeAll(async () => {
    alice = await registerUser(t, 'alice');
    mallory = await registerUser(t, 'mallory');
    const turn = await chatTurn(t, alice, 'My name is Alice. I live in Lisbon.');
    await memoryJobsDone(t);
    const memories = await t.http().get('/api/v1/memories').set(bearer(alice.token)).expect(200);
    // A failed job of Alice's, so that job ids are covered too.
    await t.app.get(MemoryJobWorker).beforeApplicationShutdown();
    const job = memoryJobRow({
      userId: alice.id,
      sessionId: turn.session_id,
      messageId: turn.message_id,
      replyId: turn.message_id,
      status: 'failed',
    });
    await t.app.get(DataSource).getRepository(MemoryJob).insert(job);
    const key = await t
      .http()
      .post('/api/v1/auth/api-keys')
      .set(bearer(alice.token))
      .send({ name: "alice's key" })
      .expect(201);
    ids = {
      user_id: alice.id,
      session_id: turn.session_id,
      id: memories.body.items[0].id,
      job_id: job.id,
      key_id: key.body.id,
    };
    aliceKey = key.body.key;
    const doc = await t.http().get('/docs-json').expect(200);
    operations = Object.entries(
      doc.body.paths as Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; in: string }[];
            requestBody?: unknown;
            security?: unknown[];
          }
        >
      >,
    ).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method as Operation['method'],
        path,
        // From the template itself, so that a parameter the document forgot is still filled.
        pathParams: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        hasBody: op.requestBody !== undefined,
        isPublic: !op.security || op.security.length === 0,
      })),
    );
  });
  it('covers every route that takes an id, and each refuses a foreign caller', async () => {
    const before = await snapshot(alice);
    const withIds = operations.filter((o) => o.pathParams.length > 0);
    expect(operations.filter((o) => !o.isPublic).length).toBeGreaterThanOrEqual(15);
    expect(withIds.length).toBeGreaterThanOrEqual(10);
    const results: string[] = [];
    for (const op of withIds) {
      const key = `${op.method} ${op.path}`;
      for (const param of op.pathParams) {
        expect({ route: key, param, fillable: param in ids }).toEqual({
          route: key,
          param,
          fillable: true,
        });
      }
      if (op.hasBody)
        expect({ route: key, hasValidBody: key in VALID_BODIES }).toEqual({
          route: key,
          hasValidBody: true,
        });
      // In upper case too: the same ids to MariaDB, and they must be refused just the same.
      for (const spell of [(id: string) => id, (id: string) => id.toUpperCase()]) {
        const url = op.pathParams.reduce(
          (p, name) => p.replace(`{${name}}`, spell(ids[name])),
          op.path,
        );
        const res = await call(t, op.method, url)
          .set(bearer(mallory.token))
          .send(VALID_BODIES[key] ?? {});
        results.push(`${key} -> ${res.status}`);
        const seen = { route: key, url, status: res.status };
        expect({ ...seen, ok: [403, 404].includes(res.status) }).toEqual({
          ...seen,
          ok: true,
        });
      }
    }
    expect(await snapshot(alice)).toEqual(before);
    // Alice's failed job is untouched too.
    const job = await t.app
      .get(DataSource)
      .getRepository(MemoryJob)
      .findOneByOrFail({ id: ids.job_id });
    expect(job.status).toBe('failed');
    // Mallory's own login still works: nothing above changed her account either.
    await login(t, mallory.username, mallory.password);
  });

  it('refuses every protected route without a token', async () => {
    for (const op of operations.filter((o) => !o.isPublic)) {
      const url = op.pathParams.reduce(
        (p, name) => p.replace(`{${name}}`, ids[name] ?? 'x'),
        op.path,
      );
      const res = await call(t, op.method, url).send(VALID_BODIES[`${op.method} ${op.path}`] ?? {});
      expect({ route: `${op.method} ${op.path}`, status: res.status }).toEqual({
        route: `${op.method} ${op.path}`,
        status: 401,
      });
    }
  });

  it('refuses an API key on every protected route but the /v1 ones, which take it as its owner', async () => {
    const v1 = operations.filter((o) => o.path.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(2);
    for (const op of v1) {
      const key = `${op.method} ${op.path}`;
      const res = await call(t, op.method, op.path)
        .set(bearer(aliceKey))
        .send(VALID_BODIES[key] ?? {});
      expect({ route: key, status: res.status }).toEqual({ route: key, status: 200 });
    }
    // The use is recorded (after the answer); nothing else of Alice's changes from here on.
    await eventually(async () => {
      const keys = await t.http().get('/api/v1/auth/api-keys').set(bearer(alice.token));
      return keys.body.items.every((k: { last_used_at: unknown }) => k.last_used_at !== null);
    }, "the key's use to be recorded");
    const before = await snapshot(alice);
    for (const op of operations.filter((o) => !o.isPublic && !o.path.startsWith('/v1/'))) {
      const key = `${op.method} ${op.path}`;
      const url = op.pathParams.reduce((p, name) => p.replace(`{${name}}`, ids[name]), op.path);
      const res = await call(t, op.method, url)
        .set(bearer(aliceKey))
        .send(VALID_BODIES[key] ?? {});
      expect({ route: key, status: res.status, code: res.body.code }).toEqual({
        route: key,
        status: 401,
        code: 'TOKEN_INVALID',
      });
    }
    expect(await snapshot(alice)).toEqual(before);
  });

  it('refuses an unknown field in every request body (mass assignment) and changes nothing', async () => {
    const before = await snapshot(alice);
    const withBody = operations.filter((o) => o.hasBody);
    expect(withBody.length).toBeGreaterThanOrEqual(6);
    for (const op of withBody) {
      const key = `${op.method} ${op.path}`;
      const url = op.pathParams.reduce((p, name) => p.replace(`{${name}}`, ids[name]), op.path);
      const body = {
        ...(VALID_BODIES[key] ?? {}),
        role: 'admin',
        is_admin: true,
        user_id: mallory.id,
      };
      const res = await call(t, op.method, url).set(bearer(alice.token)).send(body);
      const seen = { route: key, status: res.status };
      // Admin routes stop a non-admin before validation; everything else must name the fields.
      if (op.path.startsWith('/api/v1/admin/')) expect(seen).toEqual({ ...seen, status: 403 });
      // OpenAI's protocol ignores unknown fields: answered, and nothing of them is used.
      else if (op.path.startsWith('/v1/')) expect(seen).toEqual({ ...seen, status: 200 });
      else {
        expect(seen).toEqual({ ...seen, status: 400 });
        expect(JSON.stringify(res.body.message)).toContain('should not exist');
      }
    }
    expect(await snapshot(alice)).toEqual(before);
  });

  it('never lets "*" stand for a user id', async () => {
    for (const op of operations.filter((o) => o.pathParams.includes('user_id'))) {
      const url = op.pathParams.reduce(
        (p, name) => p.replace(`{${name}}`, name === 'user_id' ? '*' : ids[name]),
        op.path,
      );
      const res = await call(t, op.method, url)
        .set(bearer(mallory.token))
        .send(VALID_BODIES[`${op.method} ${op.path}`] ?? {});
      expect([400, 403, 404]).toContain(res.status);
    }
  });
});
