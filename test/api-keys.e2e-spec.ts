import { Authenticated, AuthenticatedUser, AuthUser } from '@app/common';
import { AppConfig, loadConfig } from '@app/config';
import { ApiKey } from '@app/database';
import { Controller, DynamicModule, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';

import { ApiKeysService } from '../apps/api/src/api-keys/api-keys.service';
import { AppModule } from '../apps/api/src/app.module';
import { TEST_DATABASES, TestDatabase } from './support/databases';
import {
  bearer,
  eventually,
  login,
  registerUser,
  testEnv,
  TestApp,
  TestUser,
} from './support/test-app';
import { DEFAULT_ADMIN, useApp } from './support/use-app';

const KEYS = '/api/v1/auth/api-keys';
const ME = '/api/v1/auth/me';
const ADMIN_USERS = '/api/v1/admin/users';
const KEY_FORMAT = /^cbk_[A-Za-z0-9_-]{43}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface CreatedKey {
  id: string;
  name: string;
  prefix: string;
  key: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

async function createKey(t: TestApp, user: TestUser, body: object = {}): Promise<CreatedKey> {
  const res = await t
    .http()
    .post(KEYS)
    .set(bearer(user.token))
    .send({ name: 'my editor', ...body });
  if (res.status !== 201)
    throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CreatedKey;
}

/** The key's row as the database holds it, every column. */
async function rowOf(t: TestApp, id: string): Promise<Record<string, unknown> | undefined> {
  const dataSource = t.app.get(DataSource);
  const [row] = await dataSource.query<Record<string, unknown>[]>(
    `SELECT * FROM api_keys WHERE id = ?`,
    [id],
  );
  return row;
}

const keysOf = (t: TestApp, userId: string) =>
  t.app.get(DataSource).getRepository(ApiKey).countBy({ userId });

/**
 * Managing personal API keys through the REST API, on every database: shown once, stored only as
 * a hash, listed without it, revoked by their owner or an admin, counted against
 * API_KEYS_MAX_PER_USER (3 here) even when created in parallel, and never a way into the REST API.
 */
describe.each(TEST_DATABASES)('API keys on $name', (db) => {
  const t = useApp(db, { admin: true, env: { API_KEYS_MAX_PER_USER: '3' } });
  const admin = t.admin;

  it('shows the key once, lists it without the key, and stores only its SHA-256', async () => {
    const user = await registerUser(t, 'keys');
    const before = Date.now();
    const res = await t.http().post(KEYS).set(bearer(user.token)).send({ name: '  my editor  ' });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.body as CreatedKey;
    expect(created).toEqual({
      id: expect.any(String),
      name: 'my editor',
      prefix: created.key.slice(0, 12),
      key: expect.stringMatching(KEY_FORMAT),
      created_at: expect.stringMatching(ISO),
      last_used_at: null,
      expires_at: null,
    });
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);

    const list = await t.http().get(KEYS).set(bearer(user.token)).expect(200);
    expect(list.body).toEqual({
      items: [
        {
          id: created.id,
          name: 'my editor',
          prefix: created.prefix,
          created_at: created.created_at,
          last_used_at: null,
          expires_at: null,
        },
      ],
    });
    const random = created.key.slice(4);
    expect(JSON.stringify(list.body)).not.toContain(random);
    expect(JSON.stringify(list.body)).not.toContain(sha256(created.key));

    const row = await rowOf(t, created.id);
    expect(row).toBeDefined();
    expect(row!.key_hash).toBe(sha256(created.key));
    expect(row!.key_hash).not.toBe(created.key);
    // Not the key, nor its random part, anywhere in the row (the prefix keeps 8 characters only).
    for (const value of Object.values(row!).map(String)) {
      expect(value).not.toContain(random);
      expect(value).not.toContain(random.slice(8, 20));
    }
  });

  it('sets an expiry in days, newest keys first', async () => {
    const user = await registerUser(t, 'expiry');
    const first = await createKey(t, user, { name: 'first' });
    const before = Date.now();
    const second = await createKey(t, user, { name: 'second', expires_in_days: 30 });
    const days = (Date.parse(second.expires_at!) - before) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(30);
    expect(days).toBeLessThan(30.01);
    const third = await createKey(t, user, { name: 'third', expires_in_days: null });
    expect(third.expires_at).toBeNull();
    const list = await t.http().get(KEYS).set(bearer(user.token)).expect(200);
    expect(list.body.items.map((k: { id: string }) => k.id)).toEqual([
      third.id,
      second.id,
      first.id,
    ]);
  });

  it.each([
    [{}, 'name must be 1-100 characters'],
    [{ name: '   ' }, 'name must be 1-100 characters'],
    [{ name: 'x'.repeat(101) }, 'name must be 1-100 characters'],
    [{ name: 42 }, 'name must be a string'],
    [{ name: 'ok', expires_in_days: 0 }, 'expires_in_days must not be less than 1'],
    [{ name: 'ok', expires_in_days: 3651 }, 'expires_in_days must not be greater than 3650'],
    [{ name: 'ok', expires_in_days: 1.5 }, 'expires_in_days must be an integer number'],
    [{ name: 'ok', expires_in_days: '30' }, 'expires_in_days must be an integer number'],
    [{ name: 'ok', expires_at: '2030-01-01T00:00:00Z' }, 'property expires_at should not exist'],
    [{ name: 'ok', key: `cbk_${'A'.repeat(43)}` }, 'property key should not exist'],
  ])('refuses %j with 400', async (body, message) => {
    const user = await registerUser(t, 'invalid');
    const res = await t.http().post(KEYS).set(bearer(user.token)).send(body).expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.body.message).toContain(message);
    expect(await keysOf(t, user.id)).toBe(0);
  });

  it('is refused as a token on the REST API, where it is just an invalid token', async () => {
    const user = await registerUser(t, 'rest');
    const { key } = await createKey(t, user);
    const refused = {
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Invalid or missing access token',
      code: 'TOKEN_INVALID',
    };
    for (const [method, path] of [
      ['get', ME],
      ['get', KEYS],
      ['post', KEYS],
      ['post', '/api/v1/auth/logout'],
      ['get', `/api/v1/chat/${user.id}/sessions`],
      ['get', '/api/v1/memories/jobs'],
    ] as const) {
      const req = t.http()[method](path).set(bearer(key));
      const res = await (method === 'post' ? req.send({ name: 'minted by a key' }) : req);
      expect({ path, status: res.status, body: res.body }).toEqual({
        path,
        status: 401,
        body: refused,
      });
    }
    // Nothing above changed anything: one key, the login token still good.
    expect(await keysOf(t, user.id)).toBe(1);
    await t.http().get(ME).set(bearer(user.token)).expect(200);
  });

  it("revokes the caller's own key; another user's or an unknown one is the same 404", async () => {
    const alice = await registerUser(t, 'alice');
    const bob = await registerUser(t, 'bob');
    const aliceKey = await createKey(t, alice);
    const bobKey = await createKey(t, bob);
    const notFound = {
      statusCode: 404,
      error: 'Not Found',
      message: 'API key not found',
      code: 'API_KEY_NOT_FOUND',
    };
    for (const id of [aliceKey.id, aliceKey.id.toUpperCase(), randomUUID()]) {
      const res = await t.http().delete(`${KEYS}/${id}`).set(bearer(bob.token)).expect(404);
      expect(res.body).toEqual(notFound);
    }
    expect(await rowOf(t, aliceKey.id)).toBeDefined();
    for (const bad of ['not-a-uuid', '*', `${aliceKey.id}x`]) {
      const res = await t.http().delete(`${KEYS}/${bad}`).set(bearer(bob.token)).expect(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'key_id must be a UUID',
      });
    }
    await t
      .http()
      .delete(`${KEYS}/${aliceKey.id.toUpperCase()}`)
      .set(bearer(alice.token))
      .expect(204);
    await t.http().delete(`${KEYS}/${aliceKey.id}`).set(bearer(alice.token)).expect(404);
    expect(await rowOf(t, aliceKey.id)).toBeUndefined();
    expect((await t.http().get(KEYS).set(bearer(alice.token)).expect(200)).body).toEqual({
      items: [],
    });
    const bobs = await t.http().get(KEYS).set(bearer(bob.token)).expect(200);
    expect(bobs.body.items.map((k: { id: string }) => k.id)).toEqual([bobKey.id]);
  });

  describe('admin', () => {
    it("lists and revokes a user's keys", async () => {
      const user = await registerUser(t, 'managed');
      const kept = await createKey(t, user, { name: 'kept' });
      const revoked = await createKey(t, user, { name: 'revoked', expires_in_days: 7 });
      const asAdmin = (method: 'get' | 'delete', path: string) =>
        t.http()[method](path).set(bearer(admin.token));

      const list = await asAdmin('get', `${ADMIN_USERS}/${user.id}/api-keys`).expect(200);
      const own = await t.http().get(KEYS).set(bearer(user.token)).expect(200);
      expect(list.body).toEqual(own.body);
      expect(list.body.items.map((k: { name: string }) => k.name)).toEqual(['revoked', 'kept']);
      expect(JSON.stringify(list.body)).not.toContain(revoked.key.slice(4));

      await asAdmin('delete', `${ADMIN_USERS}/${user.id}/api-keys/${revoked.id}`).expect(204);
      const again = await asAdmin('delete', `${ADMIN_USERS}/${user.id}/api-keys/${revoked.id}`);
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('API_KEY_NOT_FOUND');
      // The key of one user under another's id is not found either, and stays.
      const other = await registerUser(t, 'other');
      const res = await asAdmin('delete', `${ADMIN_USERS}/${other.id}/api-keys/${kept.id}`);
      expect(res.status).toBe(404);
      expect(await rowOf(t, kept.id)).toBeDefined();

      const unknown = await asAdmin('get', `${ADMIN_USERS}/${randomUUID()}/api-keys`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('USER_NOT_FOUND');
      const malformed = await asAdmin('delete', `${ADMIN_USERS}/${user.id}/api-keys/nope`);
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toBe('key_id must be a UUID');
      const remaining = await t.http().get(KEYS).set(bearer(user.token)).expect(200);
      expect(remaining.body.items.map((k: { id: string }) => k.id)).toEqual([kept.id]);
    });

    it('refuses a non-admin with ADMIN_REQUIRED', async () => {
      const user = await registerUser(t, 'notadmin');
      const key = await createKey(t, user);
      for (const [method, path] of [
        ['get', `${ADMIN_USERS}/${user.id}/api-keys`],
        ['delete', `${ADMIN_USERS}/${user.id}/api-keys/${key.id}`],
      ] as const) {
        const res = await t.http()[method](path).set(bearer(user.token));
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 403,
          code: 'ADMIN_REQUIRED',
        });
      }
      expect(await rowOf(t, key.id)).toBeDefined();
    });
  });

  it('exports key metadata with the account, never a key or its hash', async () => {
    const user = await registerUser(t, 'exported');
    const created = await createKey(t, user, { name: 'exported key', expires_in_days: 1 });
    const res = await t.http().get(`${ME}/export`).set(bearer(user.token)).expect(200);
    expect(res.body.api_keys).toEqual([
      {
        id: created.id,
        name: 'exported key',
        prefix: created.prefix,
        created_at: created.created_at,
        last_used_at: null,
        expires_at: created.expires_at,
      },
    ]);
    expect(res.text).not.toContain(created.key.slice(4));
    expect(res.text).not.toContain(sha256(created.key));
  });

  describe('under concurrency', () => {
    it('creates exactly API_KEYS_MAX_PER_USER keys out of 8 parallel requests', async () => {
      const user = await registerUser(t, 'parallel');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          t
            .http()
            .post(KEYS)
            .set(bearer(user.token))
            .send({ name: `key ${i}` }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
      for (const refused of results.filter((r) => r.status === 409)) {
        expect(refused.body).toEqual({
          statusCode: 409,
          error: 'Conflict',
          message: 'An account can hold at most 3 API keys; revoke one first',
          code: 'API_KEY_LIMIT',
        });
      }
      expect(await keysOf(t, user.id)).toBe(3);
      const list = await t.http().get(KEYS).set(bearer(user.token)).expect(200);
      expect(list.body.items).toHaveLength(3);
      // A revoke makes room for one more.
      await t.http().delete(`${KEYS}/${list.body.items[0].id}`).set(bearer(user.token)).expect(204);
      await createKey(t, user);
      await t.http().post(KEYS).set(bearer(user.token)).send({ name: 'one too many' }).expect(409);
    });

    it('revokes a key once when 8 revokes race: one 204, the others 404', async () => {
      const user = await registerUser(t, 'revokes');
      const key = await createKey(t, user);
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          t.http().delete(`${KEYS}/${key.id}`).set(bearer(user.token)),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([204, 404, 404, 404, 404, 404, 404, 404]);
      expect(await keysOf(t, user.id)).toBe(0);
    });

    it('answers creations racing the account deletion with 201 or 401, and leaves no key', async () => {
      for (let round = 0; round < 3; round++) {
        const user = await registerUser(t, 'racing');
        const creations = Array.from({ length: 6 }, (_, i) =>
          t
            .http()
            .post(KEYS)
            .set(bearer(user.token))
            .send({ name: `racing ${i}` }),
        );
        const deletion = t
          .http()
          .delete(ME)
          .set(bearer(user.token))
          .send({ password: user.password });
        const [deleted, ...created] = await Promise.all([deletion, ...creations]);
        expect(deleted.status).toBe(204);
        for (const res of created) {
          const seen = { status: res.status, code: res.body?.code as unknown };
          expect([201, 401, 409]).toContain(seen.status);
          if (seen.status === 401) expect(['TOKEN_INVALID', 'ACCOUNT_GONE']).toContain(seen.code);
        }
        expect(await keysOf(t, user.id)).toBe(0);
      }
    });

    it('answers creations racing a disable with 201 or 401, and the created keys are dead', async () => {
      const user = await registerUser(t, 'disabled');
      const creations = Array.from({ length: 6 }, (_, i) =>
        t
          .http()
          .post(KEYS)
          .set(bearer(user.token))
          .send({ name: `racing ${i}` }),
      );
      const disable = t
        .http()
        .patch(`${ADMIN_USERS}/${user.id}`)
        .set(bearer(admin.token))
        .send({ disabled: true });
      const [disabled, ...created] = await Promise.all([disable, ...creations]);
      expect(disabled.status).toBe(200);
      for (const res of created) expect([201, 401, 409]).toContain(res.status);
      // Disabling bumped the token version: whichever keys were made are refused.
      const service = t.app.get(ApiKeysService);
      for (const res of created.filter((r) => r.status === 201)) {
        await expect(service.authenticate((res.body as CreatedKey).key)).resolves.toBeNull();
      }
    });
  });

  it('ends the keys of a deleted account with it (cascade)', async () => {
    const user = await registerUser(t, 'deleted');
    const key = await createKey(t, user);
    await createKey(t, user, { expires_in_days: 1 });
    expect(await keysOf(t, user.id)).toBe(2);
    await t.http().delete(ME).set(bearer(user.token)).send({ password: user.password }).expect(204);
    expect(await keysOf(t, user.id)).toBe(0);
    await expect(t.app.get(ApiKeysService).authenticate(key.key)).resolves.toBeNull();
  });
});

/** The caller, as a route that takes API keys sees them. */
@Authenticated({ apiKeys: true })
@Controller('test/v1')
class KeyedController {
  @Get('whoami')
  whoami(@AuthUser() caller: AuthenticatedUser) {
    return { id: caller.id, api_key_id: caller.apiKeyId ?? null, token_id: caller.tokenId };
  }
}

/** The application with one more controller, marked to accept API keys like the /v1 routes. */
@Module({})
class KeyedAppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: KeyedAppModule,
      imports: [AppModule.forRoot(config)],
      controllers: [KeyedController],
    };
  }
}

/**
 * The real application modules (the global guard included) plus KeyedController, on a fresh
 * database. Not createApp: it takes no extra modules, and the routes here need nothing else of it.
 */
async function startKeyedApp(db: TestDatabase): Promise<TestApp> {
  const loaded = loadConfig(
    testEnv(db, {
      ADMIN_USERNAME: DEFAULT_ADMIN.username,
      ADMIN_EMAIL: DEFAULT_ADMIN.email,
      ADMIN_PASSWORD: DEFAULT_ADMIN.password,
    }),
  );
  const config = AppConfig.of({ ...loaded, database: { ...loaded.database, dropSchema: true } });
  const app = await NestFactory.create<NestFastifyApplication>(
    KeyedAppModule.forRoot(config),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config: loaded,
    http: () => request(app.getHttpServer()),
    close: () => app.close(),
  };
}

/** A key on a route marked to accept keys: who it stands for, and everything that ends it. */
describe.each(TEST_DATABASES)('API keys on a route that accepts them, on $name', (db) => {
  let t: TestApp;
  let adminToken: string;
  beforeAll(async () => {
    t = await startKeyedApp(db);
    adminToken = await login(t, DEFAULT_ADMIN.username, DEFAULT_ADMIN.password);
  });
  afterAll(() => t?.close());

  const WHOAMI = '/test/v1/whoami';
  const whoami = (credential: string) => t.http().get(WHOAMI).set(bearer(credential));
  const expectRefused = async (key: string) => {
    const res = await whoami(key).expect(401);
    expect(res.body).toMatchObject({ code: 'TOKEN_INVALID' });
  };
  const dataSource = () => t.app.get(DataSource);

  it('stands for its owner there, and a login token still works there too', async () => {
    const user = await registerUser(t, 'keyed');
    const key = await createKey(t, user);
    const res = await whoami(key.key).expect(200);
    expect(res.body).toEqual({ id: user.id, api_key_id: key.id, token_id: `key:${key.id}` });
    const jwt = await whoami(user.token).expect(200);
    expect(jwt.body).toMatchObject({ id: user.id, api_key_id: null });
    // The same key is still refused on the REST API.
    await t.http().get(ME).set(bearer(key.key)).expect(401);
  });

  it('refuses a malformed or unknown key, and a loose header', async () => {
    const user = await registerUser(t, 'unknown');
    const key = await createKey(t, user);
    await expectRefused(`cbk_${'A'.repeat(43)}`);
    await expectRefused(key.key.slice(0, -1));
    await expectRefused(`${key.key}A`);
    await whoami(key.key).expect(200);
    await t.http().get(WHOAMI).set('Authorization', `Bearer  ${key.key}`).expect(401);
    await t.http().get(WHOAMI).set('Authorization', key.key).expect(401);
    await t.http().get(WHOAMI).set('X-Api-Key', key.key).expect(401);
  });

  it('refuses a revoked key', async () => {
    const user = await registerUser(t, 'revoked');
    const key = await createKey(t, user);
    await whoami(key.key).expect(200);
    await t.http().delete(`${KEYS}/${key.id}`).set(bearer(user.token)).expect(204);
    await expectRefused(key.key);
  });

  it('refuses an expired key', async () => {
    const user = await registerUser(t, 'expired');
    const key = await createKey(t, user, { expires_in_days: 1 });
    await whoami(key.key).expect(200);
    await dataSource()
      .getRepository(ApiKey)
      .update({ id: key.id }, { expiresAt: new Date(Date.now() - 1000) });
    await expectRefused(key.key);
  });

  it('refuses the key of a disabled account, even without a token-version bump', async () => {
    const user = await registerUser(t, 'disabled');
    const key = await createKey(t, user);
    await whoami(key.key).expect(200);
    // The flag alone, as no code path sets it: the admin API also bumps the version.
    await dataSource().query('UPDATE users SET disabled = ? WHERE id = ?', [1, user.id]);
    await expectRefused(key.key);
    await dataSource().query('UPDATE users SET disabled = ? WHERE id = ?', [0, user.id]);
    await whoami(key.key).expect(200);
    // Through the admin API: refused, and still refused once re-enabled (the version moved on).
    const admin = (body: object) =>
      t.http().patch(`${ADMIN_USERS}/${user.id}`).set(bearer(adminToken)).send(body).expect(200);
    await admin({ disabled: true });
    await expectRefused(key.key);
    await admin({ disabled: false });
    await expectRefused(key.key);
  });

  it('refuses every key once the token version moves on (role change, password reset)', async () => {
    const user = await registerUser(t, 'bumped');
    const first = await createKey(t, user);
    const second = await createKey(t, user);
    await whoami(first.key).expect(200);
    await t
      .http()
      .patch(`${ADMIN_USERS}/${user.id}`)
      .set(bearer(adminToken))
      .send({ role: 'admin' })
      .expect(200);
    await expectRefused(first.key);
    await expectRefused(second.key);
    // A key made after the bump, with a new login, works.
    const token = await login(t, user.username, user.password);
    const third = await createKey(t, { ...user, token });
    await whoami(third.key).expect(200);
    await dataSource().query('UPDATE users SET token_version = token_version + 1 WHERE id = ?', [
      user.id,
    ]);
    await expectRefused(third.key);
  });

  it('refuses the key of a deleted account, whose keys are gone with it', async () => {
    const user = await registerUser(t, 'deleted');
    const key = await createKey(t, user);
    await whoami(key.key).expect(200);
    await t.http().delete(ME).set(bearer(user.token)).send({ password: user.password }).expect(204);
    await expectRefused(key.key);
    expect(await keysOf(t, user.id)).toBe(0);
  });

  it('records the last use, at most once a minute', async () => {
    const user = await registerUser(t, 'used');
    const key = await createKey(t, user);
    const lastUsed = async (): Promise<string | undefined> =>
      ((await t.http().get(KEYS).set(bearer(user.token)).expect(200)).body.items[0] as CreatedKey)
        .last_used_at ?? undefined;
    expect(await lastUsed()).toBeUndefined();
    const before = Date.now();
    await whoami(key.key).expect(200);
    const first = await eventually(lastUsed, 'last_used_at recorded');
    expect(Date.parse(first)).toBeGreaterThanOrEqual(before - 1000);
    await Promise.all(Array.from({ length: 5 }, () => whoami(key.key).expect(200)));
    // Within the minute nothing is written again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lastUsed()).toBe(first);
    // A use recorded more than a minute ago is recorded again.
    await dataSource()
      .getRepository(ApiKey)
      .update({ id: key.id }, { lastUsedAt: new Date(Date.now() - 61_000) });
    const stale = await lastUsed();
    await whoami(key.key).expect(200);
    const next = await eventually(async () => {
      const seen = await lastUsed();
      return seen !== stale ? seen : undefined;
    }, 'last_used_at recorded again');
    expect(Date.parse(next)).toBeGreaterThanOrEqual(Date.parse(first));
  });
});
