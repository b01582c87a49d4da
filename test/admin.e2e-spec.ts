import { Message } from '@app/database';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { runCli } from '../apps/api/src/cli';
import { TEST_DATABASES } from './support/databases';
import { bearer, login, registerUser, startApp, testEnv } from './support/test-app';
import { useApp } from './support/use-app';

const USERS = '/api/v1/admin/users';

describe.each(TEST_DATABASES)('admin on $name', (db) => {
  const t = useApp(db, { admin: true });
  const admin = t.admin;

  it('the bootstrap admin exists with the admin role', async () => {
    const res = await t.http().get('/api/v1/auth/me').set(bearer(admin.token)).expect(200);
    expect(res.body).toMatchObject({
      username: 'root_admin',
      email: 'root@example.com',
      role: 'admin',
    });
  });

  it('lists users with counts and pagination', async () => {
    await registerUser(t, 'listed');
    await registerUser(t, 'listed');
    const all = await t.http().get(USERS).set(bearer(admin.token)).expect(200);
    expect(all.body).toMatchObject({ limit: 20, offset: 0 });
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    expect(all.body.items).toHaveLength(all.body.total);
    for (const item of all.body.items) {
      expect(Object.keys(item).sort()).toEqual(
        [
          'created_at',
          'disabled',
          'email',
          'id',
          'message_count',
          'role',
          'session_count',
          'username',
        ].sort(),
      );
    }
    const page = await t
      .http()
      .get(`${USERS}?limit=1&offset=1`)
      .set(bearer(admin.token))
      .expect(200);
    expect(page.body).toMatchObject({ total: all.body.total, limit: 1, offset: 1 });
    expect(page.body.items).toEqual([all.body.items[1]]);
  });

  it('counts each listed user’s sessions and messages', async () => {
    const busy = await registerUser(t, 'busy');
    const idle = await registerUser(t, 'idle');
    const sessionIds: string[] = [];
    for (const title of ['one', 'two', 'three']) {
      const res = await t
        .http()
        .post(`/api/v1/chat/${busy.id}/sessions`)
        .set(bearer(busy.token))
        .send({ title })
        .expect(201);
      sessionIds.push(res.body.id);
    }
    // The chat endpoint is another module's; messages are stored directly.
    const at = new Date();
    await t.app
      .get(DataSource)
      .getRepository(Message)
      .insert(
        [0, 0, 0, 1].map((s, i) => ({
          id: randomUUID(),
          sessionId: sessionIds[s],
          userId: busy.id,
          role: 'user' as const,
          content: `message ${i}`,
          model: null,
          promptTokens: null,
          completionTokens: null,
          latencyMs: null,
          createdAt: new Date(at.getTime() + i),
        })),
      );
    const counts = async () => {
      const res = await t.http().get(`${USERS}?limit=100`).set(bearer(admin.token)).expect(200);
      const items = res.body.items as {
        id: string;
        session_count: number;
        message_count: number;
      }[];
      const pick = (id: string) => {
        const item = items.find((u) => u.id === id);
        return item && { session_count: item.session_count, message_count: item.message_count };
      };
      return { busy: pick(busy.id), idle: pick(idle.id) };
    };
    expect(await counts()).toEqual({
      busy: { session_count: 3, message_count: 4 },
      idle: { session_count: 0, message_count: 0 },
    });

    await t
      .http()
      .delete(`/api/v1/chat/${busy.id}/sessions/${sessionIds[0]}`)
      .set(bearer(busy.token))
      .expect(204);
    expect((await counts()).busy).toEqual({ session_count: 2, message_count: 1 });
  });

  it.each([
    ['limit above 100', '?limit=101'],
    ['limit 0', '?limit=0'],
    ['negative offset', '?offset=-1'],
    ['non-numeric limit', '?limit=ten'],
    ['unknown query field', '?sort=name'],
  ])('refuses %s with 400', async (_name, query) => {
    const res = await t.http().get(`${USERS}${query}`).set(bearer(admin.token)).expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'VALIDATION_FAILED',
    });
  });

  it('refuses a normal user with 403 and an anonymous caller with 401', async () => {
    const user = await registerUser(t);
    const res = await t.http().get(USERS).set(bearer(user.token)).expect(403);
    expect(res.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'Admin role required',
      code: 'ADMIN_REQUIRED',
    });
    await t.http().get(USERS).expect(401);
  });

  it('the CLI promotes an existing user and resets their password', async () => {
    const user = await registerUser(t, 'promoted');
    const out = await runCli(
      [
        'create-admin',
        '--username',
        user.username,
        '--email',
        user.email,
        '--password',
        'new admin pw 1',
      ],
      t.config,
    );
    expect(out).toMatch(/promoted/);
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(401);
    const token = await login(t, user.username, 'new admin pw 1');
    await t.http().get(USERS).set(bearer(token)).expect(200);
  });

  it('the CLI creates a new admin and rejects bad input', async () => {
    const out = await runCli(
      [
        'create-admin',
        '--username',
        'cli_admin',
        '--email',
        'cli@example.com',
        '--password',
        'cli admin pw',
      ],
      t.config,
    );
    expect(out).toMatch(/created/);
    const token = await login(t, 'cli@example.com', 'cli admin pw');
    await t.http().get(USERS).set(bearer(token)).expect(200);
    await expect(
      runCli(
        ['create-admin', '--username', 'x', '--email', 'bad', '--password', 'short'],
        t.config,
      ),
    ).rejects.toThrow(/--username .*\n--email .*\n--password/);
    await expect(runCli(['drop-everything'], t.config)).rejects.toThrow(/Unknown command/);
  });
});

describe.each(TEST_DATABASES)('restart on $name', (db) => {
  it('keeps users and tokens valid; a bootstrap promotion (asked for) with a password reset ends that user’s tokens', async () => {
    // No JWT_SECRET: the generated secret kept in DATA_DIR must survive the restart.
    const env = testEnv(db, { JWT_SECRET: '' });
    const first = await startApp(env);
    const user = await registerUser(first, 'promoted');
    const survivor = await registerUser(first, 'survivor');
    await first.close();

    const adminEnv = {
      ...env,
      ADMIN_USERNAME: user.username,
      ADMIN_EMAIL: user.email,
      ADMIN_PASSWORD: 'rotated pw 123',
    };
    // An existing account is never adopted silently: someone may have registered that name first.
    await expect(startApp(adminEnv, { fresh: false })).rejects.toThrow(
      /not an admin; it is not promoted automatically.*ADMIN_PROMOTE_EXISTING=true/s,
    );
    await expect(
      startApp(
        { ...adminEnv, ADMIN_EMAIL: 'someone.else@example.com', ADMIN_PROMOTE_EXISTING: 'true' },
        { fresh: false },
      ),
    ).rejects.toThrow(/does not match an existing account/);
    const second = await startApp(
      { ...adminEnv, ADMIN_PROMOTE_EXISTING: 'true' },
      { fresh: false },
    );
    try {
      await second.http().get('/api/v1/auth/me').set(bearer(survivor.token)).expect(200);
      await second.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(401);
      const token = await login(second, user.username, 'rotated pw 123');
      const me = await second.http().get('/api/v1/auth/me').set(bearer(token)).expect(200);
      expect(me.body).toMatchObject({ id: user.id, role: 'admin' });
    } finally {
      await second.close();
    }
  });
});
