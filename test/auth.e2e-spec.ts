import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';

import { TEST_DATABASES } from './support/databases';
import { bearer, login, registerUser, TEST_JWT_SECRET } from './support/test-app';
import { useApp } from './support/use-app';

const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';
const ME = '/api/v1/auth/me';
const LOGOUT = '/api/v1/auth/logout';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(TEST_DATABASES)('auth on $name', (db) => {
  const t = useApp(db);
  const signer = new JwtService({ secret: TEST_JWT_SECRET });

  /** A token signed with the test secret, shaped like ours except for `overrides`. */
  function forge(
    userId: string,
    overrides: Record<string, unknown> = {},
    secret = TEST_JWT_SECRET,
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new JwtService({ secret }).sign(
      {
        sub: userId,
        role: 'user',
        jti: randomUUID(),
        iat: now,
        exp: now + 600,
        iss: t.config.auth.jwtIssuer,
        aud: t.config.auth.jwtAudience,
        ...overrides,
      },
      { algorithm: 'HS256' },
    );
  }

  describe('register', () => {
    it('creates a user and never returns the hash', async () => {
      const res = await t
        .http()
        .post(REGISTER)
        .send({ username: 'Carol_1', email: 'Carol@Example.com', password: 'long enough pw' })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        username: 'carol_1',
        email: 'carol@example.com',
        role: 'user',
        created_at: expect.any(String),
      });
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
      expect(JSON.stringify(res.body)).not.toMatch(/\$2[aby]\$|password/);
    });

    it('refuses a taken username or email with 409, case-insensitively', async () => {
      const user = await registerUser(t);
      const other = { password: 'long enough pw' };
      const byName = await t
        .http()
        .post(REGISTER)
        .send({ ...other, username: user.username.toUpperCase(), email: 'fresh1@example.com' })
        .expect(409);
      expect(byName.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Username is already taken',
        code: 'USERNAME_TAKEN',
      });
      const byEmail = await t
        .http()
        .post(REGISTER)
        .send({ ...other, username: 'fresh_name', email: user.email.toUpperCase() })
        .expect(409);
      expect(byEmail.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Email is already registered',
        code: 'EMAIL_TAKEN',
      });
      // The same status, told apart by the code: a client can say which field to change.
      expect(byName.body.code).not.toBe(byEmail.body.code);
      const lookAlike = await t
        .http()
        .post(REGISTER)
        .send({ ...other, username: user.username.replace('_', '.'), email: 'fresh2@example.com' })
        .expect(409);
      expect(lookAlike.body.code).toBe('USERNAME_TOO_SIMILAR');
      const reserved = await t
        .http()
        .post(REGISTER)
        .send({ ...other, username: 'admin', email: 'fresh3@example.com' })
        .expect(409);
      expect(reserved.body.code).toBe('USERNAME_RESERVED');
    });

    it('answers concurrent duplicate registrations with one 201 and 409s that say which', async () => {
      const body = { username: 'racer', email: 'racer@example.com', password: 'long enough pw' };
      const results = await Promise.all([1, 2, 3].map(() => t.http().post(REGISTER).send(body)));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      const conflicts = results.filter((r) => r.status === 409).map((r) => r.body.code);
      expect(conflicts).toEqual(['USERNAME_TAKEN', 'USERNAME_TAKEN']);
    });

    it.each([
      ['role', { role: 'admin' }],
      ['an unknown field', { is_admin: true }],
    ])('refuses %s in the body with 400 and creates nobody', async (_name, extra) => {
      const res = await t
        .http()
        .post(REGISTER)
        .send({
          username: 'sneaky',
          email: 'sneaky@example.com',
          password: 'long enough pw',
          ...extra,
        })
        .expect(400);
      expect(res.body.message).toEqual([expect.stringMatching(/should not exist/)]);
      await t
        .http()
        .post(LOGIN)
        .send({ username: 'sneaky', password: 'long enough pw' })
        .expect(401);
    });

    it.each([
      ['short username', { username: 'ab' }],
      ['long username', { username: 'a'.repeat(33) }],
      ['username with spaces', { username: 'bad name' }],
      ['username that is not a string', { username: 12345 }],
      ['invalid email', { email: 'not-an-email' }],
      ['short password', { password: 'short' }],
      ['long password', { password: 'p'.repeat(129) }],
      ['missing password', { password: undefined }],
    ])('refuses a %s with 400', async (_name, change) => {
      const body = {
        username: 'valid_name',
        email: 'valid@example.com',
        password: 'long enough pw',
        ...change,
      };
      const res = await t.http().post(REGISTER).send(body).expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('login', () => {
    it('accepts the username or the email', async () => {
      const user = await registerUser(t);
      for (const name of [user.username, user.email, user.email.toUpperCase()]) {
        const res = await t
          .http()
          .post(LOGIN)
          .send({ username: name, password: user.password })
          .expect(200);
        expect(res.body).toEqual({
          access_token: expect.any(String),
          token_type: 'bearer',
          expires_in: 24 * 3600,
          user: expect.objectContaining({ id: user.id, username: user.username, role: 'user' }),
        });
      }
    });

    it('gives the same 401 body for an unknown user and a wrong password', async () => {
      const user = await registerUser(t);
      const wrong = await t
        .http()
        .post(LOGIN)
        .send({ username: user.username, password: 'wrong password' })
        .expect(401);
      const unknown = await t
        .http()
        .post(LOGIN)
        .send({ username: 'nobody_here', password: 'wrong password' })
        .expect(401);
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid username or password',
        code: 'INVALID_CREDENTIALS',
      });
    });

    it('issues tokens with exp, iat, a unique jti, issuer and audience', async () => {
      const user = await registerUser(t);
      const second = await login(t, user.username, user.password);
      const a = signer.decode<Record<string, unknown>>(user.token);
      const b = signer.decode<Record<string, unknown>>(second);
      expect(a).toMatchObject({
        sub: user.id,
        role: 'user',
        iss: 'memory-chatbot',
        aud: 'memory-chatbot-api',
      });
      expect(a.exp).toBe((a.iat as number) + 24 * 3600);
      expect(a.jti).not.toBe(b.jti);
      const header = JSON.parse(Buffer.from(user.token.split('.')[0], 'base64url').toString());
      expect(header.alg).toBe('HS256');
    });
  });

  describe('tokens', () => {
    it('GET /auth/me returns the caller', async () => {
      const user = await registerUser(t);
      const res = await t.http().get(ME).set(bearer(user.token)).expect(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        email: user.email,
        role: 'user',
        created_at: expect.any(String),
      });
    });

    it('refuses a missing, garbage, alg:none, wrong-key, expired, wrong-issuer or wrong-audience token', async () => {
      const user = await registerUser(t);
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: user.id,
        role: 'admin',
        jti: randomUUID(),
        iat: now,
        exp: now + 600,
        iss: 'memory-chatbot',
        aud: 'memory-chatbot-api',
      };
      const cases: Record<string, string | undefined> = {
        missing: undefined,
        garbage: 'not.a.token',
        'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`,
        'wrong key': forge(user.id, {}, 'another-secret-that-is-also-32-bytes-long'),
        expired: forge(user.id, { iat: now - 7200, exp: now - 3600 }),
        'wrong issuer': forge(user.id, { iss: 'someone-else' }),
        'wrong audience': forge(user.id, { aud: 'another-api' }),
        'no jti': forge(user.id, { jti: undefined }),
        'unknown user': forge(randomUUID()),
      };
      for (const [name, token] of Object.entries(cases)) {
        const req = t.http().get(ME);
        if (token) req.set(bearer(token));
        const res = await req;
        expect({ name, status: res.status }).toEqual({ name, status: 401 });
        expect(res.body).toEqual({
          statusCode: 401,
          error: 'Unauthorized',
          message: 'Invalid or missing access token',
          code: 'TOKEN_INVALID',
        });
      }
      // A correctly forged token is accepted, so the cases above fail for the reason they name.
      await t
        .http()
        .get(ME)
        .set(bearer(forge(user.id)))
        .expect(200);
    });

    it('logout revokes only that token, until it expires', async () => {
      const user = await registerUser(t);
      const other = await login(t, user.username, user.password);
      await t.http().post(LOGOUT).set(bearer(user.token)).expect(204);
      await t.http().get(ME).set(bearer(user.token)).expect(401);
      await t.http().post(LOGOUT).set(bearer(user.token)).expect(401);
      await t.http().get(ME).set(bearer(other)).expect(200);
    });
  });
});
