import type { Env } from '@app/config';
import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Response } from 'supertest';

import { TEST_DATABASES } from './support/databases';
import { deadRedisUrl, RedisProxy, sharedLimitsEnv } from './support/redis';
import {
  bearer,
  eventually,
  newDataDir,
  registerUser,
  TestApp,
  TestUser,
} from './support/test-app';
import { useApps } from './support/use-app';

const LOGIN = '/api/v1/auth/login';
const OUTAGE = 'Redis for shared limits does not answer';
const RECOVERY = 'Redis for shared limits answers again';
/** A request while Redis is away may cost milliseconds, never a connect timeout or retries. */
const BOUNDED_MS = 1500;

/**
 * Issue 14, item 3: every replica of a deployment counts its limits in one Redis (the real server,
 * TEST_REDIS_URL, under a key prefix per deployment), and an unreachable Redis costs a request
 * milliseconds: rate limits fail open, password checks fail closed with 503, readiness names
 * Redis, liveness never asks it. All apps of a database share it, as replicas do.
 */
describe.each(TEST_DATABASES)('shared limits on Redis, on $name', (db) => {
  const databaseUrl = db.url ?? `sqlite:${join(newDataDir(), 'replicas.sqlite')}`;
  const apps = useApps(db, {
    double: true,
    env: {
      DATABASE_URL: databaseUrl,
      MEMORY_WORKERS_ENABLED: 'false',
      THROTTLE_LOGIN_FAILURES: '4',
      THROTTLE_CHAT_PER_MINUTE: '4',
      TRUST_PROXY: 'true',
    },
  });
  let migrated = false;
  let addresses = 0;

  /** A replica on the suite's database; the first one started creates the schema. */
  async function replica(env: Env): Promise<TestApp> {
    const fresh = !migrated;
    migrated = true;
    return apps.start(env, { fresh });
  }

  /** What the apps log about Redis during a describe block (through Nest's Logger, as they do). */
  function watchRedisLogs(): { outages: () => number; recoveries: () => number } {
    let warn: jest.SpyInstance | undefined;
    let log: jest.SpyInstance | undefined;
    beforeAll(() => {
      warn = jest.spyOn(Logger.prototype, 'warn');
      log = jest.spyOn(Logger.prototype, 'log');
    });
    afterAll(() => {
      warn?.mockRestore();
      log?.mockRestore();
    });
    const count = (spy: jest.SpyInstance | undefined, text: string) =>
      (spy?.mock.calls ?? []).filter((args: unknown[]) =>
        args.some((a) => String(a).includes(text)),
      ).length;
    return { outages: () => count(warn, OUTAGE), recoveries: () => count(log, RECOVERY) };
  }

  /** A client address used by nothing else in the suite. */
  function address(): string {
    addresses += 1;
    return `10.14.${Math.floor(addresses / 250)}.${addresses % 250}`;
  }

  const loginFrom = (app: TestApp, from: string, user: TestUser, password = user.password) =>
    app.http().post(LOGIN).set('X-Forwarded-For', from).send({ username: user.username, password });
  const chat = (app: TestApp, user: TestUser) =>
    app.http().post(`/api/v1/chat/${user.id}`).set(bearer(user.token)).send({ message: 'Hello' });

  /** Spends the account's whole failed-password budget (4), one address per guess, alternating. */
  async function spendLoginBudget(replicas: TestApp[], user: TestUser): Promise<string[]> {
    const used = [address(), address(), address(), address()];
    for (const [n, from] of used.entries()) {
      await loginFrom(replicas[n % replicas.length], from, user, 'wrong password').expect(401);
    }
    return used;
  }

  async function timed(request: () => PromiseLike<Response>): Promise<Response> {
    const started = performance.now();
    const res = await request();
    expect(performance.now() - started).toBeLessThan(BOUNDED_MS);
    return res;
  }

  function expectUnavailable(res: Response) {
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Rate limiting is unavailable right now; try again shortly',
      code: 'RATE_LIMIT_UNAVAILABLE',
    });
  }

  async function expectNotReadyForRedis(app: TestApp) {
    for (const path of ['/health/ready', '/health']) {
      const res = await timed(() => app.http().get(path));
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        status: 'error',
        code: 'RATE_LIMIT_UNAVAILABLE',
        error: { redis: { status: 'down' } },
        info: { database: { status: 'up' } },
      });
    }
    // Liveness asks no dependency.
    const live = await timed(() => app.http().get('/health/live'));
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
  }

  describe('two replicas on one Redis', () => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      const shared = sharedLimitsEnv();
      a = await replica(shared);
      b = await replica(shared);
    });
    afterAll(async () => {
      await b.close();
      await a.close();
    });

    it('share one failed-password budget: half spent on each blocks the account on both', async () => {
      const user = await registerUser(a, 'shared');
      const guessed = await spendLoginBudget([a, b], user);
      for (const [n, from] of guessed.entries()) {
        const blocked = await loginFrom(n % 2 ? a : b, from, user).expect(429);
        expect(blocked.body.code).toBe('TOO_MANY_FAILED_LOGINS');
      }
      // As on one process: an address that never failed on the account (the owner) still gets in.
      await loginFrom(b, address(), user).expect(200);
    });

    it('share one chat budget per user', async () => {
      const user = await registerUser(a, 'chatter');
      for (const app of [a, b, a, b]) await chat(app, user).expect(200);
      expect((await chat(a, user).expect(429)).body.code).toBe('RATE_LIMITED');
      await chat(b, user).expect(429);
      const other = await registerUser(b, 'other');
      await chat(a, other).expect(200);
    });

    it('are ready while Redis answers, and report it', async () => {
      const ready = await a.http().get('/health/ready').expect(200);
      expect(ready.body.info.redis).toEqual({ status: 'up' });
    });
  });

  it('without REDIS_URL, each replica counts alone (what Redis fixes)', async () => {
    const [a, b] = [await replica({}), await replica({})];
    try {
      const user = await registerUser(a, 'alone');
      await spendLoginBudget([a, b], user);
      await loginFrom(a, address(), user).expect(200);
      expect((await a.http().get('/health/ready').expect(200)).body.info.redis).toBeUndefined();
    } finally {
      await b.close();
      await a.close();
    }
  });

  describe('with Redis unreachable (a closed port)', () => {
    const logs = watchRedisLogs();
    let healthy: TestApp;
    let cutOff: TestApp;
    let user: TestUser;
    beforeAll(async () => {
      healthy = await replica(sharedLimitsEnv());
      cutOff = await replica(sharedLimitsEnv(await deadRedisUrl()));
      // Logged in on a replica whose Redis answers: logging in needs the failure budget.
      user = await registerUser(healthy, 'cutoff');
    });
    afterAll(async () => {
      await cutOff.close();
      await healthy.close();
    });

    it('still answers chat at once: rate limits fail open', async () => {
      // The first turn of an app warms Mem0 up; the next five go past THROTTLE_CHAT_PER_MINUTE
      // (4), since nothing can be counted, each as fast as a turn goes.
      await chat(cutOff, user).expect(200);
      for (let i = 0; i < 5; i++) expect((await timed(() => chat(cutOff, user))).status).toBe(200);
    });

    it('answers a password check 503 RATE_LIMIT_UNAVAILABLE at once: login fails closed', async () => {
      expectUnavailable(await timed(() => loginFrom(cutOff, address(), user)));
      expectUnavailable(await timed(() => loginFrom(cutOff, address(), user, 'a guess')));
      const deleteMe = await timed(() =>
        cutOff.http().delete('/api/v1/auth/me').set(bearer(user.token)).send({ password: 'x' }),
      );
      expectUnavailable(deleteMe);
    });

    it('is not ready, naming Redis; liveness stays 200', async () => {
      await expectNotReadyForRedis(cutOff);
    });

    it('logs the outage once, not per request', () => {
      expect(logs.outages()).toBe(1);
      expect(logs.recoveries()).toBe(0);
    });
  });

  it('lets the fail modes be turned around', async () => {
    const healthy = await replica(sharedLimitsEnv());
    const reversed = await replica({
      ...sharedLimitsEnv(await deadRedisUrl()),
      REDIS_FAIL_MODE_LIMITS: 'closed',
      REDIS_FAIL_MODE_LOGIN: 'open',
    });
    try {
      const user = await registerUser(healthy, 'reversed');
      expectUnavailable(await timed(() => chat(reversed, user)));
      await loginFrom(reversed, address(), user).expect(200);
      for (let i = 0; i < 6; i++) await loginFrom(reversed, address(), user, 'wrong').expect(401);
    } finally {
      await reversed.close();
      await healthy.close();
    }
  });

  describe('with Redis going away and coming back (a proxy in front of it)', () => {
    const proxy = new RedisProxy();
    const logs = watchRedisLogs();
    let app: TestApp;
    let user: TestUser;
    beforeAll(async () => {
      await proxy.start();
      app = await replica({ ...sharedLimitsEnv(proxy.url), REDIS_COMMAND_TIMEOUT_MS: '200' });
      user = await registerUser(app, 'flaky');
      await chat(app, user).expect(200); // Mem0's warm-up, before anything is timed
    });
    afterAll(async () => {
      await app.close();
      await proxy.stop();
    });

    it('fails within REDIS_COMMAND_TIMEOUT_MS while Redis hangs, and counts again after', async () => {
      await loginFrom(app, address(), user, 'wrong 1').expect(401);
      proxy.freeze();
      try {
        expectUnavailable(await timed(() => loginFrom(app, address(), user)));
        expect((await timed(() => chat(app, user))).status).toBe(200);
        expect((await timed(() => app.http().get('/health/ready'))).status).toBe(503);
      } finally {
        proxy.thaw();
      }
      await eventually(
        async () => (await loginFrom(app, address(), user, 'wrong 2')).status === 401,
        'the failed-password budget to be counted again',
      );
    });

    it('fails fast while Redis is gone, and uses it again, counts kept, once it is back', async () => {
      await proxy.cut();
      expectUnavailable(await timed(() => loginFrom(app, address(), user)));
      expect((await timed(() => chat(app, user))).status).toBe(200);
      await expectNotReadyForRedis(app);

      await proxy.restore();
      await eventually(
        async () => (await app.http().get('/health/ready')).status === 200,
        'readiness once Redis is back',
      );
      // Two wrong passwords before (4 allowed): this third and fourth use up the budget Redis kept.
      await loginFrom(app, address(), user, 'wrong 3').expect(401);
      const last = address();
      await loginFrom(app, last, user, 'wrong 4').expect(401);
      expect((await loginFrom(app, last, user).expect(429)).body.code).toBe(
        'TOO_MANY_FAILED_LOGINS',
      );
    });

    it('logs each outage once and each recovery once', () => {
      expect(logs.outages()).toBe(2);
      expect(logs.recoveries()).toBe(2);
    });
  });
});
