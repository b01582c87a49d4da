import { AppConfig } from '@app/config';
import { MemoryJob, RevokedToken } from '@app/database';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { RevokedTokenPruner } from '../apps/api/src/auth/revoked-token-pruner';
import { runCli } from '../apps/api/src/cli';
import { memoryJobRow } from './support/builders';
import { TEST_DATABASES } from './support/databases';
import { bearer, login, registerUser, startApp, testEnv, TestUser } from './support/test-app';
import { useApp, useFakeDate } from './support/use-app';

const ME = '/api/v1/auth/me';
const LOGIN = '/api/v1/auth/login';
const USERS = '/api/v1/admin/users';
const SESSIONS = '/api/v1/admin/sessions';
const JOBS = '/api/v1/admin/memory-jobs';

describe.each(TEST_DATABASES)('admin tools on $name', (db) => {
  const t = useApp(db, { admin: true, env: { MEMORY_WORKERS_ENABLED: 'false' } });
  const admin = t.admin;

  /** The CLI on the app's database; without dropSchema, which `t.config` has set for start-up. */
  const cli = (args: string[]) =>
    runCli(
      args,
      AppConfig.of({ ...t.config, database: { ...t.config.database, dropSchema: false } }),
    );

  const patchUser = (id: string, body: object, token = admin.token) =>
    t.http().patch(`${USERS}/${id}`).set(bearer(token)).send(body);

  describe('token version', () => {
    it('a password reset by the CLI ends every earlier token', async () => {
      const user = await registerUser(t, 'reset');
      const second = await login(t, user.username, user.password);
      const out = await cli([
        'create-admin',
        '--username',
        user.username,
        '--email',
        user.email,
        '--password',
        'reset pw 123',
      ]);
      expect(out).toContain(`(${user.id}): promoted, password reset`);
      for (const token of [user.token, second]) {
        await t.http().get(ME).set(bearer(token)).expect(401);
      }
      const fresh = await login(t, user.username, 'reset pw 123');
      await t.http().get(USERS).set(bearer(fresh)).expect(200);
    });

    it('the CLI leaves an admin that already has that password alone', async () => {
      await cli([
        'create-admin',
        '--username',
        admin.username,
        '--email',
        admin.email,
        '--password',
        admin.password,
      ]);
      await t.http().get(USERS).set(bearer(admin.token)).expect(200);
    });

    it('tokens carry the version they were issued at', async () => {
      const user = await registerUser(t, 'ver');
      const claims = JSON.parse(Buffer.from(user.token.split('.')[1], 'base64url').toString());
      expect(claims.ver).toBe(0);
      await patchUser(user.id, { role: 'admin' }).expect(200);
      const next = await login(t, user.username, user.password);
      expect(JSON.parse(Buffer.from(next.split('.')[1], 'base64url').toString()).ver).toBe(1);
    });
  });

  describe('PATCH /admin/users/{user_id}', () => {
    it('disabling ends the user’s tokens at once and refuses their login; re-enabling allows it again', async () => {
      const user = await registerUser(t, 'disabled');
      const res = await patchUser(user.id, { disabled: true }).expect(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        email: user.email,
        role: 'user',
        created_at: expect.any(String),
        disabled: true,
        session_count: 0,
        message_count: 0,
      });
      const refused = await t.http().get(ME).set(bearer(user.token)).expect(401);
      expect(refused.body.message).toBe('Invalid or missing access token');

      const right = await t
        .http()
        .post(LOGIN)
        .send({ username: user.username, password: user.password })
        .expect(403);
      expect(right.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'Account is disabled',
        code: 'ACCOUNT_DISABLED',
      });
      const wrong = await t
        .http()
        .post(LOGIN)
        .send({ username: user.username, password: 'wrong password' })
        .expect(401);
      expect(wrong.body.message).toBe('Invalid username or password');

      const listed = await t.http().get(`${USERS}?limit=100`).set(bearer(admin.token)).expect(200);
      expect(listed.body.items.find((u: { id: string }) => u.id === user.id)).toMatchObject({
        disabled: true,
      });

      await patchUser(user.id, { disabled: false }).expect(200, /"disabled":false/);
      const token = await login(t, user.username, user.password);
      await t.http().get(ME).set(bearer(token)).expect(200);
      // The token from before the disabling stays dead.
      await t.http().get(ME).set(bearer(user.token)).expect(401);
    });

    it('a promotion needs a new login: the new token works on admin routes, the old one is refused', async () => {
      const user = await registerUser(t, 'promoted');
      const res = await patchUser(user.id, { role: 'admin' }).expect(200);
      expect(res.body).toMatchObject({ id: user.id, role: 'admin', disabled: false });
      await t.http().get(ME).set(bearer(user.token)).expect(401);
      const token = await login(t, user.username, user.password);
      await t.http().get(USERS).set(bearer(token)).expect(200);

      // And a demotion takes admin rights away at once.
      await patchUser(user.id, { role: 'user' }).expect(200);
      await t.http().get(USERS).set(bearer(token)).expect(401);
      const demoted = await login(t, user.username, user.password);
      await t.http().get(USERS).set(bearer(demoted)).expect(403);
    });

    it('a change that changes nothing keeps the user’s tokens', async () => {
      const user = await registerUser(t, 'same');
      await patchUser(user.id, { role: 'user', disabled: false }).expect(200);
      await t.http().get(ME).set(bearer(user.token)).expect(200);
    });

    it('an admin cannot disable or demote themself (409), and keeps their token', async () => {
      for (const body of [
        { disabled: true },
        { role: 'user' },
        { role: 'user', disabled: false },
      ]) {
        const res = await patchUser(admin.id, body).expect(409);
        expect(res.body).toEqual({
          statusCode: 409,
          error: 'Conflict',
          message: 'You cannot disable or demote yourself',
          code: 'CANNOT_CHANGE_SELF',
        });
      }
      await patchUser(admin.id, { role: 'admin', disabled: false }).expect(200);
      await t.http().get(USERS).set(bearer(admin.token)).expect(200);
    });

    it.each([
      ['an empty body', {}],
      ['an unknown field', { disabled: true, username: 'x' }],
      ['only an unknown field', { password: 'new password 1' }],
      ['an unknown role', { role: 'owner' }],
      ['a non-boolean disabled', { disabled: 'yes' }],
      ['a null role', { role: null }],
    ])('refuses %s with 400', async (_name, body) => {
      const user = await registerUser(t, 'bad');
      const res = await patchUser(user.id, body).expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
      });
      await t.http().get(ME).set(bearer(user.token)).expect(200);
    });

    it('answers 404 for an unknown user and 400 for a malformed id', async () => {
      const res = await patchUser(randomUUID(), { disabled: true }).expect(404);
      expect(res.body.message).toBe('User not found');
      await patchUser('not-a-uuid', { disabled: true }).expect(400);
    });

    it('is refused to a non-admin (403)', async () => {
      const user = await registerUser(t, 'nosy');
      await patchUser(user.id, { role: 'admin' }, user.token).expect(403);
    });
  });

  describe('GET /admin/sessions', () => {
    // Activity timestamps come from the app's Date: moved on between sessions, not waited for.
    const clock = useFakeDate();
    let alice: TestUser;
    let bob: TestUser;

    beforeAll(async () => {
      alice = await registerUser(t, 'alice');
      bob = await registerUser(t, 'bob');
      for (const [user, title] of [
        [alice, 'alice one'],
        [bob, 'bob one'],
        [alice, 'alice two'],
      ] as const) {
        await t
          .http()
          .post(`/api/v1/chat/${user.id}/sessions`)
          .set(bearer(user.token))
          .send({ title })
          .expect(201);
        clock.advance(5);
      }
    });

    it('lists every user’s sessions, newest activity first, with their owner', async () => {
      const res = await t.http().get(`${SESSIONS}?limit=100`).set(bearer(admin.token)).expect(200);
      expect(res.body).toMatchObject({ limit: 100, offset: 0 });
      expect(res.body.total).toBeGreaterThanOrEqual(3);
      const ours = (res.body.items as { title: string }[]).filter((s) =>
        ['alice one', 'bob one', 'alice two'].includes(s.title),
      );
      expect(ours.map((s) => s.title)).toEqual(['alice two', 'bob one', 'alice one']);
      expect(ours[1]).toEqual({
        id: expect.any(String),
        title: 'bob one',
        created_at: expect.any(String),
        updated_at: expect.any(String),
        message_count: 0,
        owner: { id: bob.id, username: bob.username },
      });
      const updated = (res.body.items as { updated_at: string }[]).map((s) => s.updated_at);
      expect([...updated].sort().reverse()).toEqual(updated);
    });

    it('filters by user_id, and pages', async () => {
      const res = await t
        .http()
        .get(`${SESSIONS}?user_id=${alice.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(res.body.total).toBe(2);
      expect(res.body.items.map((s: { title: string }) => s.title)).toEqual([
        'alice two',
        'alice one',
      ]);
      for (const s of res.body.items) {
        expect(s.owner).toEqual({ id: alice.id, username: alice.username });
      }
      const page = await t
        .http()
        .get(`${SESSIONS}?user_id=${alice.id}&limit=1&offset=1`)
        .set(bearer(admin.token))
        .expect(200);
      expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
      expect(page.body.items).toEqual([res.body.items[1]]);
      const none = await t
        .http()
        .get(`${SESSIONS}?user_id=${randomUUID()}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(none.body).toMatchObject({ items: [], total: 0 });
    });

    it('refuses a malformed user_id (400), a non-admin (403) and no token (401)', async () => {
      await t.http().get(`${SESSIONS}?user_id=nope`).set(bearer(admin.token)).expect(400);
      await t.http().get(SESSIONS).set(bearer(alice.token)).expect(403);
      await t.http().get(SESSIONS).expect(401);
    });
  });

  describe('memory jobs', () => {
    let owner: TestUser;

    async function insertJob(status: MemoryJob['status']): Promise<string> {
      const job = memoryJobRow({
        userId: owner.id,
        status,
        runAt: new Date(Date.now() - 60_000),
      });
      await t.app.get(DataSource).getRepository(MemoryJob).insert(job);
      return job.id;
    }

    beforeAll(async () => {
      owner = await registerUser(t, 'jobs');
    });

    it('lists failed jobs, filtered by status and user', async () => {
      const failed = await insertJob('failed');
      const pending = await insertJob('pending');
      const res = await t
        .http()
        .get(`${JOBS}?status=failed&user_id=${owner.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(res.body).toMatchObject({ total: 1, limit: 20, offset: 0 });
      expect(res.body.items).toEqual([
        {
          id: failed,
          user_id: owner.id,
          session_id: expect.any(String),
          message_id: expect.any(String),
          status: 'failed',
          attempts: 5,
          last_error: 'The model call failed',
          run_at: expect.any(String),
          created_at: expect.any(String),
          updated_at: expect.any(String),
        },
      ]);
      const all = await t
        .http()
        .get(`${JOBS}?user_id=${owner.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(all.body.items.map((j: { id: string }) => j.id).sort()).toEqual(
        [failed, pending].sort(),
      );
    });

    it('retries a failed job: pending now, attempts 0, last_error kept', async () => {
      const id = await insertJob('failed');
      const before = Date.now();
      const res = await t.http().post(`${JOBS}/${id}/retry`).set(bearer(admin.token)).expect(200);
      expect(res.body).toMatchObject({
        id,
        status: 'pending',
        attempts: 0,
        last_error: 'The model call failed',
      });
      const row = await t.app.get(DataSource).getRepository(MemoryJob).findOneByOrFail({ id });
      expect(row).toMatchObject({
        status: 'pending',
        attempts: 0,
        lastError: 'The model call failed',
      });
      expect(row.runAt.getTime()).toBeGreaterThanOrEqual(before - 1000);

      const again = await t.http().post(`${JOBS}/${id}/retry`).set(bearer(admin.token)).expect(409);
      expect(again.body.message).toBe('Only a failed memory job can be retried');
    });

    it('answers 404 for an unknown job, 400 for bad input, 403 for a non-admin', async () => {
      await t.http().post(`${JOBS}/${randomUUID()}/retry`).set(bearer(admin.token)).expect(404);
      await t.http().post(`${JOBS}/nope/retry`).set(bearer(admin.token)).expect(400);
      await t.http().get(`${JOBS}?status=done`).set(bearer(admin.token)).expect(400);
      await t.http().get(`${JOBS}?user_id=nope`).set(bearer(admin.token)).expect(400);
      await t.http().get(JOBS).set(bearer(owner.token)).expect(403);
      await t.http().post(`${JOBS}/${randomUUID()}/retry`).set(bearer(owner.token)).expect(403);
    });
  });

  it('pruning removes only the revoked tokens that have expired', async () => {
    const user = await registerUser(t, 'pruned');
    const tokens = t.app.get(DataSource).getRepository(RevokedToken);
    const now = Date.now();
    const expired = randomUUID();
    const live = randomUUID();
    await tokens.insert([
      { jti: expired, userId: user.id, expiresAt: new Date(now - 60_000) },
      { jti: live, userId: user.id, expiresAt: new Date(now + 3_600_000) },
    ]);
    await t.http().post('/api/v1/auth/logout').set(bearer(user.token)).expect(204);

    expect(await t.app.get(RevokedTokenPruner).pruneExpired()).toBeGreaterThanOrEqual(1);
    const left = (await tokens.findBy({ userId: user.id })).map((r) => r.jti);
    expect(left).toHaveLength(2);
    expect(left).toContain(live);
    expect(left).not.toContain(expired);
    await t.http().get(ME).set(bearer(user.token)).expect(401);
  });
});

describe.each(TEST_DATABASES)('admin bootstrap on $name', (db) => {
  it('a bootstrap that resets a password ends earlier tokens; an unchanged one keeps them', async () => {
    const env = testEnv(db);
    const first = await startApp(env);
    const user = await registerUser(first, 'boot');
    const bystander = await registerUser(first, 'bystander');
    await first.close();

    const bootstrap = {
      ...env,
      ADMIN_USERNAME: user.username,
      ADMIN_EMAIL: user.email,
      ADMIN_PASSWORD: 'bootstrap pw 1',
      ADMIN_PROMOTE_EXISTING: 'true',
    };
    const log = jest.spyOn(Logger.prototype, 'log');
    const second = await startApp(bootstrap, { fresh: false });
    expect(log).toHaveBeenCalledWith(`Admin "${user.username}": promoted, password reset`);
    let adminToken: string;
    try {
      await second.http().get(ME).set(bearer(user.token)).expect(401);
      await second.http().get(ME).set(bearer(bystander.token)).expect(200);
      adminToken = await login(second, user.username, 'bootstrap pw 1');
    } finally {
      await second.close();
    }

    log.mockClear();
    const third = await startApp(bootstrap, { fresh: false });
    try {
      await third.http().get(USERS).set(bearer(adminToken)).expect(200);
      // Nothing changed, so nothing is said about the admin (it used to say "promoted" every time).
      expect(log.mock.calls.flat().join('\n')).not.toMatch(/Admin "/);
    } finally {
      log.mockRestore();
      await third.close();
    }
  });
});
