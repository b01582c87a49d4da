import { JwtService } from '@nestjs/jwt';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { TEST_DATABASES } from '../support/databases';
import { bearer, registerUser, TEST_JWT_SECRET } from '../support/test-app';
import { useApp } from '../support/use-app';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Token forgeries beyond the basic matrix in auth.e2e-spec.ts. All must be a plain 401. */
describe.each(TEST_DATABASES)('token forgery on $name', (db) => {
  const t = useApp(db);

  function claims(sub: string, extra: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub,
      role: 'user',
      jti: randomUUID(),
      iat: now,
      exp: now + 600,
      iss: t.config.auth.jwtIssuer,
      aud: t.config.auth.jwtAudience,
      ...extra,
    };
  }

  it('refuses HS/RS confusion, tampering, not-yet-valid and other algorithms', async () => {
    const user = await registerUser(t);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const [header, , signature] = user.token.split('.');
    const hmac = (alg: 'HS384' | 'HS512', secret = TEST_JWT_SECRET) =>
      new JwtService({ secret }).sign(claims(user.id), { algorithm: alg });
    const cases: Record<string, string> = {
      // RS256 signed with a real private key: a verifier that trusted the header would accept it.
      rs256: new JwtService({ privateKey }).sign(claims(user.id), { algorithm: 'RS256' }),
      // HS256 keyed with the public key's PEM: the classic confusion attack.
      'hs256 with the public key as secret': new JwtService({ secret: publicPem }).sign(
        claims(user.id),
      ),
      'role tampered, signature kept': `${header}.${b64url({ ...claims(user.id), role: 'admin' })}.${signature}`,
      'subject tampered, signature kept': `${header}.${b64url(claims(randomUUID()))}.${signature}`,
      'not yet valid': new JwtService({ secret: TEST_JWT_SECRET }).sign(
        claims(user.id, { nbf: Math.floor(Date.now() / 1000) + 3600 }),
      ),
      // Right secret, but not the pinned algorithm.
      hs384: hmac('HS384'),
      hs512: hmac('HS512'),
      'alg None (capitalised)': `${b64url({ alg: 'None', typ: 'JWT' })}.${b64url(claims(user.id))}.`,
      'empty signature': `${header}.${b64url(claims(user.id))}.`,
      'sub is not a string': new JwtService({ secret: TEST_JWT_SECRET }).sign(
        claims(user.id, { sub: 42 }),
      ),
      'exp far in the past': new JwtService({ secret: TEST_JWT_SECRET }).sign(
        claims(user.id, { iat: 1_000_000, exp: 1_000_600 }),
      ),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await t.http().get('/api/v1/auth/me').set(bearer(token));
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
    }
    for (const scheme of ['Basic', 'bearer', 'Token']) {
      const res = await t
        .http()
        .get('/api/v1/auth/me')
        .set('Authorization', `${scheme} ${user.token}`);
      // Only the Bearer scheme carries a token; "bearer" in lower case is accepted by the extractor.
      expect(res.status).toBe(scheme === 'bearer' ? 200 : 401);
    }
    await t.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(200);
  });

  it('reads exactly "Bearer <token>": anything looser is the plain 401 of a missing token', async () => {
    const user = await registerUser(t);
    const me = () => t.http().get('/api/v1/auth/me');
    const missing = await me().expect(401);
    const refused: Record<string, string> = {
      'junk after the token': `Bearer ${user.token} junk`,
      'two spaces': `Bearer  ${user.token}`,
      'a tab': `Bearer\t${user.token}`,
      'another scheme': `Token ${user.token}`,
      'no scheme': user.token,
      'a second credential after a comma': `Bearer ${user.token}, Basic Zm9vOmJhcg==`,
      'the token in quotes': `Bearer "${user.token}"`,
      'a forbidden character in the token': `Bearer ${user.token.replace('.', '.;')}`,
      'a forbidden character after the token': `Bearer ${user.token};`,
    };
    for (const [name, header] of Object.entries(refused)) {
      const res = await me().set('Authorization', header);
      expect({ name, status: res.status, body: res.body }).toEqual({
        name,
        status: 401,
        body: missing.body,
      });
    }
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await me().set('Authorization', `${scheme} ${user.token}`);
      expect({ scheme, status: res.status }).toEqual({ scheme, status: 200 });
    }
  });
});
