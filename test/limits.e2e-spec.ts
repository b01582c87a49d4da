import { MemoryStore } from '@app/ai';
import { randomUUID } from 'node:crypto';

import { TEST_DATABASES } from './support/databases';
import { PASSWORD, registration } from './support/builders';
import { parseSse, rawText } from './support/sse';
import { bearer, TestApp } from './support/test-app';
import { useApp } from './support/use-app';

const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';
const WINDOW_SECONDS = 15 * 60;
const ALLOWED_ORIGIN = 'https://app.example';

interface Account {
  id: string;
  username: string;
  token: string;
}

describe.each(TEST_DATABASES)('abuse limits and security headers on $name', (db) => {
  /** Small limits; TRUST_PROXY so that each test can act from its own X-Forwarded-For address. */
  const t = useApp(db, {
    double: true,
    env: {
      MEMORY_WORKERS_ENABLED: 'false',
      THROTTLE_LOGIN_FAILURES: '3',
      THROTTLE_REGISTER_PER_HOUR: '3',
      THROTTLE_CHAT_PER_MINUTE: '2',
      THROTTLE_LOGIN_PER_HOUR: '12',
      THROTTLE_MEMORY_PER_MINUTE: '3',
      THROTTLE_SESSIONS_PER_HOUR: '3',
      SUMMARY_MIN_INTERVAL_SECONDS: '60',
      TRUST_PROXY: 'true',
      CORS_ORIGINS: ALLOWED_ORIGIN,
    },
  });
  const { double } = t;
  /** Every limit at 0 (the test default): switched off. */
  let unlimited: TestApp;
  let accounts = 0;

  beforeAll(async () => {
    unlimited = await t.startAnother({ MEMORY_WORKERS_ENABLED: 'false' });
  });

  const register = (app: TestApp, from: string, body: object) =>
    app.http().post(REGISTER).set('X-Forwarded-For', from).send(body);
  const loginFrom = (app: TestApp, from: string, username: string, password: string) =>
    app.http().post(LOGIN).set('X-Forwarded-For', from).send({ username, password });

  /** A new account, registered and logged in from an address used for nothing else. */
  async function account(app: TestApp = t): Promise<Account> {
    accounts += 1;
    const body = registration('lim');
    const from = `10.250.${Math.floor(accounts / 250)}.${accounts % 250}`;
    const reg = await register(app, from, body).expect(201);
    const res = await loginFrom(app, from, body.username, PASSWORD).expect(200);
    return { id: reg.body.id as string, username: body.username, token: res.body.access_token };
  }

  function expectTooMany(
    res: { headers: Record<string, string>; body: unknown },
    max: number,
    code = 'RATE_LIMITED',
  ) {
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(max);
    expect(res.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.any(String),
      code,
    });
  }

  describe('failed logins', () => {
    it('block an account after the limit, however it is named, for every address that failed on it', async () => {
      const user = await account();
      // Three spellings of one account: one budget.
      const spellings = [
        user.username,
        user.username.toUpperCase(),
        `${user.username}@example.com`,
      ];
      for (const [n, login] of spellings.entries()) {
        await loginFrom(t, `10.1.0.${n + 1}`, login, 'wrong password').expect(401);
      }
      for (const n of [1, 2, 3]) {
        const blocked = await loginFrom(t, `10.1.0.${n}`, user.username, PASSWORD).expect(429);
        expectTooMany(blocked, WINDOW_SECONDS, 'TOO_MANY_FAILED_LOGINS');
        expect(blocked.body.message).toBe('Too many failed logins; try again later');
      }
      // The owner, from an address that never failed on the account, still gets in ...
      await loginFrom(t, '10.1.0.9', ` ${user.username.toUpperCase()} `, PASSWORD).expect(200);
      // ... while a new address gets one guess, then is held too.
      await loginFrom(t, '10.1.0.10', user.username, 'another guess').expect(401);
      await loginFrom(t, '10.1.0.10', user.username, PASSWORD).expect(429);
      const other = await account();
      await loginFrom(t, '10.1.0.6', other.username, PASSWORD).expect(200);
    });

    it('spend the same account budget on wrong passwords given to delete the account', async () => {
      const user = await account();
      const from = '10.1.1.1';
      const deleteMe = (password: string) =>
        t
          .http()
          .delete('/api/v1/auth/me')
          .set('X-Forwarded-For', from)
          .set(bearer(user.token))
          .send({ password });
      for (let i = 0; i < 3; i++) await deleteMe(`guess ${i}`).expect(401);
      expectTooMany(
        await deleteMe('guess 4').expect(429),
        WINDOW_SECONDS,
        'TOO_MANY_FAILED_LOGINS',
      );
      await deleteMe(PASSWORD).expect(429);
      await loginFrom(t, from, user.username, PASSWORD).expect(429);
      await t.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(200);
    });

    it('block an address once its budget is spent, for every username', async () => {
      const user = await account();
      for (const n of [1, 2, 3]) {
        await loginFrom(t, '10.2.0.1', `ghost_${n}`, 'wrong password').expect(401);
      }
      const blocked = await loginFrom(t, '10.2.0.1', user.username, PASSWORD).expect(429);
      expectTooMany(blocked, WINDOW_SECONDS, 'TOO_MANY_FAILED_LOGINS');
      await loginFrom(t, '10.2.0.2', user.username, PASSWORD).expect(200);
    });

    it('count only failures: successful logins spend nothing', async () => {
      const user = await account();
      const from = '10.3.0.1';
      for (const n of [1, 2]) await loginFrom(t, from, user.username, `wrong ${n}`).expect(401);
      for (let i = 0; i < 5; i++) await loginFrom(t, from, user.username, PASSWORD).expect(200);
      await loginFrom(t, from, user.username, 'wrong 3').expect(401);
      await loginFrom(t, from, user.username, PASSWORD).expect(429);
    });

    it('do not count invalid bodies (400)', async () => {
      const from = '10.3.1.1';
      for (let i = 0; i < 5; i++) {
        await t.http().post(LOGIN).set('X-Forwarded-For', from).send({ username: 'x' }).expect(400);
      }
      const user = await account();
      await loginFrom(t, from, user.username, PASSWORD).expect(200);
    });
  });

  it('limits registrations per address per hour, counting every attempt', async () => {
    const from = '10.4.0.1';
    await register(t, from, {
      username: 'reg_a',
      email: 'reg_a@example.com',
      password: PASSWORD,
    }).expect(201);
    await register(t, from, { username: 'reg_b', email: 'bad', password: PASSWORD }).expect(400);
    await register(t, from, {
      username: 'reg_c',
      email: 'reg_c@example.com',
      password: PASSWORD,
    }).expect(201);
    const blocked = await register(t, from, {
      username: 'reg_d',
      email: 'reg_d@example.com',
      password: PASSWORD,
    }).expect(429);
    expectTooMany(blocked, 3600);
    expect(blocked.headers['retry-after']).toBeDefined();
    await register(t, '10.4.0.2', {
      username: 'reg_d',
      email: 'reg_d@example.com',
      password: PASSWORD,
    }).expect(201);
  });

  it('limits chat turns per user per minute; another user is not affected', async () => {
    const [alice, bob] = [await account(), await account()];
    const send = (u: Account) =>
      t.http().post(`/api/v1/chat/${u.id}`).set(bearer(u.token)).send({ message: 'Hello' });
    await send(alice).expect(200);
    await send(alice).expect(200);
    const blocked = await send(alice).expect(429);
    expectTooMany(blocked, 60);
    await send(bob).expect(200);
  });

  it('limits login attempts per address per hour, successful ones too', async () => {
    const user = await account();
    const from = '10.4.5.1';
    for (let i = 0; i < 12; i++) await loginFrom(t, from, user.username, PASSWORD).expect(200);
    expectTooMany(await loginFrom(t, from, user.username, PASSWORD).expect(429), 3600);
    await loginFrom(t, '10.4.5.2', user.username, PASSWORD).expect(200);
  });

  it('limits the memory calls that cost a model or embedding call, per user', async () => {
    const [alice, bob] = [await account(), await account()];
    const search = (u: Account) =>
      t
        .http()
        .post('/api/v1/memories/search')
        .set(bearer(u.token))
        .send({ query: 'Where do I live?' });
    await search(alice).expect(200);
    await t.http().get('/api/v1/memories/summary').set(bearer(alice.token)).expect(200);
    await t
      .http()
      .put(`/api/v1/memories/${randomUUID()}`)
      .set(bearer(alice.token))
      .send({ memory: 'x' })
      .expect(404);
    expectTooMany(await search(alice).expect(429), 60);
    await t.http().get('/api/v1/memories/summary').set(bearer(alice.token)).expect(429);
    // Reading memories costs no model call and stays open; other users are not affected.
    await t.http().get('/api/v1/memories').set(bearer(alice.token)).expect(200);
    await search(bob).expect(200);
  });

  it('serves a summary from cache for SUMMARY_MIN_INTERVAL_SECONDS, even after an edit', async () => {
    const user = await account();
    const store = t.app.get(MemoryStore);
    await store.add(user.id, [{ role: 'user', content: 'I live in Lisbon.' }], {
      session_id: randomUUID(),
      message_id: randomUUID(),
      job_id: randomUUID(),
    });
    const [memory] = await store.list(user.id);
    double.clear();
    const first = await t
      .http()
      .get('/api/v1/memories/summary')
      .set(bearer(user.token))
      .expect(200);
    await t
      .http()
      .put(`/api/v1/memories/${memory.id}`)
      .set(bearer(user.token))
      .send({ memory: 'I live in Porto.' })
      .expect(200);
    const second = await t
      .http()
      .get('/api/v1/memories/summary')
      .set(bearer(user.token))
      .expect(200);
    expect(second.body).toEqual(first.body);
    expect(double.chatRequests()).toHaveLength(1);
  });

  it('limits session creation per user per hour', async () => {
    const user = await account();
    const create = () =>
      t
        .http()
        .post(`/api/v1/chat/${user.id}/sessions`)
        .set(bearer(user.token))
        .send({ title: 'x' });
    for (let i = 0; i < 3; i++) await create().expect(201);
    expectTooMany(await create().expect(429), 3600);
  });

  it('switches every limit off at 0', async () => {
    const user = await account(unlimited);
    for (let i = 0; i < 6; i++) {
      await loginFrom(unlimited, '10.5.0.1', user.username, 'wrong password').expect(401);
    }
    await loginFrom(unlimited, '10.5.0.1', user.username, PASSWORD).expect(200);
    for (let i = 0; i < 5; i++) {
      await register(unlimited, '10.5.0.1', {
        username: `free_${i}`,
        email: `free_${i}@example.com`,
        password: PASSWORD,
      }).expect(201);
    }
    for (let i = 0; i < 4; i++) {
      await unlimited
        .http()
        .post(`/api/v1/chat/${user.id}`)
        .set(bearer(user.token))
        .send({ message: `Turn ${i}` })
        .expect(200);
    }
  });

  describe('passwords', () => {
    it('refuses a common password, in any case', async () => {
      const res = await register(t, '10.6.0.1', {
        username: 'common_pw',
        email: 'common_pw@example.com',
        password: 'Password123',
      }).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: ['password is too common'],
        code: 'VALIDATION_FAILED',
      });
    });

    it('refuses a password equal to the username or the email', async () => {
      const byName = await register(t, '10.6.0.2', {
        username: 'Same_As_Pw',
        email: 'same@example.com',
        password: 'same_as_pw',
      }).expect(400);
      expect(byName.body.message).toEqual(['password must not be the username or email']);
      await register(t, '10.6.0.3', {
        username: 'other_name',
        email: 'same_as@example.com',
        password: 'same_as@example.com',
      }).expect(400);
    });
  });

  describe('headers', () => {
    it('sets helmet headers on API answers', async () => {
      const res = await t.http().get('/').expect(200);
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'referrer-policy': 'no-referrer',
        'strict-transport-security': expect.stringContaining('max-age='),
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      });
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('still serves the Swagger UI at /docs, with a CSP it can live with', async () => {
      const page = await t.http().get('/docs').expect(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.text).toContain('swagger-ui-init.js');
      const csp = page.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self' https: 'unsafe-inline'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      await t.http().get('/docs/swagger-ui-init.js').expect(200);
      await t.http().get('/docs-json').expect(200);
    });

    it('answers CORS preflights for allowed origins only', async () => {
      const preflight = (origin: string) =>
        t
          .http()
          .options(LOGIN)
          .set('Origin', origin)
          .set('Access-Control-Request-Method', 'POST')
          .set('Access-Control-Request-Headers', 'content-type,authorization');
      const allowed = await preflight(ALLOWED_ORIGIN).expect(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(allowed.headers['access-control-allow-methods']).toContain('POST');
      const refused = await preflight('https://evil.example');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      const simple = await t.http().get('/').set('Origin', 'https://evil.example').expect(200);
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('sends the same headers on a streamed (SSE) answer', async () => {
      const user = await account();
      const res = await t
        .http()
        .post(`/api/v1/chat/${user.id}`)
        .set(bearer(user.token))
        .set('Origin', ALLOWED_ORIGIN)
        .set('X-Request-Id', 'sse-trace-1')
        .send({ message: 'Hello', stream: true })
        .buffer(true)
        .parse(rawText)
        .expect(200);
      expect(res.headers).toMatchObject({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-request-id': 'sse-trace-1',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'access-control-allow-origin': ALLOWED_ORIGIN,
      });
      expect(parseSse(res).at(-1)?.event).toBe('done');
    });

    it('sends no CORS headers at all without CORS_ORIGINS', async () => {
      const res = await unlimited.http().get('/').set('Origin', ALLOWED_ORIGIN).expect(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});
