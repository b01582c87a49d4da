import { DomainError, ErrorCode } from '@app/common';
import { AppConfig, loadConfig } from '@app/config';
import { User } from '@app/database';
import { JwtService } from '@nestjs/jwt';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LoginFailureLimiter } from '../throttling/login-failure-limiter';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import { ACCOUNT_DISABLED, AuthService, INVALID_CREDENTIALS } from './auth.service';
import { RevokedTokensRepository } from './revoked-tokens.repository';

const user: User = {
  id: '4f1d7a2e-0000-4000-8000-000000000001',
  username: 'alice',
  usernameKey: 'allce',
  email: 'alice@example.com',
  passwordHash: 'hash',
  role: 'user',
  tokenVersion: 3,
  disabled: false,
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  updatedAt: new Date('2026-01-01T00:00:00.000Z'),
};

describe('AuthService', () => {
  let config: AppConfig;
  let users: { findByLogin: jest.Mock; findTokenHolder: jest.Mock };
  let hasher: { verify: jest.Mock; verifyAgainstDummy: jest.Mock };
  let revoked: { revoke: jest.Mock };
  /** What the token-holder query finds: the user row and whether the token is revoked. */
  let holder: { user: User | null; revoked: boolean };
  let jwt: JwtService;
  let service: AuthService;

  beforeEach(() => {
    config = loadConfig({
      DATA_DIR: mkdtempSync(join(tmpdir(), 'auth-spec-')),
      JWT_SECRET: 'k'.repeat(32),
      JWT_EXPIRATION_HOURS: '2',
    });
    holder = { user: null, revoked: false };
    users = {
      findByLogin: jest.fn(),
      findTokenHolder: jest.fn(() => Promise.resolve(holder)),
    };
    hasher = { verify: jest.fn(), verifyAgainstDummy: jest.fn().mockResolvedValue(false) };
    revoked = { revoke: jest.fn() };
    jwt = new JwtService({
      secret: config.auth.jwtSecret,
      signOptions: { issuer: 'iss', audience: 'aud', algorithm: 'HS256' },
    });
    service = new AuthService(
      config,
      users as unknown as UsersService,
      hasher as unknown as PasswordHasher,
      jwt,
      revoked as unknown as RevokedTokensRepository,
      new LoginFailureLimiter(config, new ThrottlerStorageService()),
    );
  });

  describe('login', () => {
    it('issues a token with a unique jti and the configured lifetime', async () => {
      users.findByLogin.mockResolvedValue(user);
      hasher.verify.mockResolvedValue(true);
      const a = await service.login('alice', 'pw');
      const b = await service.login('alice', 'pw');
      expect(a.expiresIn).toBe(7200);
      const claims = jwt.verify<{
        sub: string;
        jti: string;
        exp: number;
        iat: number;
        role: string;
        ver: number;
      }>(a.accessToken);
      expect(claims).toMatchObject({ sub: user.id, role: 'user', ver: 3 });
      expect(claims.exp - claims.iat).toBe(7200);
      expect(claims.jti).not.toBe(jwt.decode<{ jti: string }>(b.accessToken).jti);
    });

    it('compares against a dummy hash when the user does not exist, and fails the same way', async () => {
      users.findByLogin.mockResolvedValue(null);
      const unknown = await service.login('ghost', 'pw').catch((e: unknown) => e);
      expect(hasher.verifyAgainstDummy).toHaveBeenCalledWith('pw');
      expect(hasher.verify).not.toHaveBeenCalled();

      users.findByLogin.mockResolvedValue(user);
      hasher.verify.mockResolvedValue(false);
      const wrong = await service.login('alice', 'bad').catch((e: unknown) => e);

      for (const error of [unknown, wrong]) {
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({
          code: ErrorCode.InvalidCredentials,
          message: INVALID_CREDENTIALS,
        });
      }
    });

    it('refuses a disabled user only once the password is right', async () => {
      users.findByLogin.mockResolvedValue({ ...user, disabled: true });
      hasher.verify.mockResolvedValue(false);
      await expect(service.login('alice', 'bad')).rejects.toMatchObject({
        code: ErrorCode.InvalidCredentials,
        message: INVALID_CREDENTIALS,
      });
      hasher.verify.mockResolvedValue(true);
      await expect(service.login('alice', 'pw')).rejects.toMatchObject({
        code: ErrorCode.AccountDisabled,
        message: ACCOUNT_DISABLED,
      });
    });
  });

  describe('authenticate', () => {
    const payload = {
      sub: user.id,
      role: 'user' as const,
      ver: 3,
      jti: 'j1',
      iat: 1,
      exp: 2_000_000_000,
    };

    it('resolves a live token to the current user row', async () => {
      holder.user = { ...user, role: 'admin' };
      await expect(service.authenticate(payload)).resolves.toMatchObject({
        id: user.id,
        role: 'admin',
        tokenId: 'j1',
        tokenExpiresAt: new Date(2_000_000_000 * 1000),
        tokenVersion: 3,
      });
    });

    it('refuses a revoked token and a deleted user', async () => {
      holder.user = user;
      holder.revoked = true;
      await expect(service.authenticate(payload)).resolves.toBeNull();
      holder.revoked = false;
      holder.user = null;
      await expect(service.authenticate(payload)).resolves.toBeNull();
    });

    it('refuses a token of an older token_version and any token of a disabled user', async () => {
      holder.user = { ...user, tokenVersion: 4 };
      await expect(service.authenticate(payload)).resolves.toBeNull();
      holder.user = { ...user, disabled: true };
      await expect(service.authenticate(payload)).resolves.toBeNull();
    });

    it('reads a token without `ver` as version 0', async () => {
      const old = { ...payload, ver: undefined };
      holder.user = { ...user, tokenVersion: 0 };
      await expect(service.authenticate(old)).resolves.toMatchObject({ id: user.id });
      holder.user = user;
      await expect(service.authenticate(old)).resolves.toBeNull();
    });
  });

  it('logout revokes exactly the caller’s token until its expiry', async () => {
    const expiresAt = new Date('2030-01-01T00:00:00.000Z');
    await service.logout({
      id: user.id,
      username: user.username,
      email: user.email,
      role: 'user',
      createdAt: user.createdAt,
      tokenId: 'jti-1',
      tokenExpiresAt: expiresAt,
    });
    expect(revoked.revoke).toHaveBeenCalledWith({ jti: 'jti-1', userId: user.id, expiresAt });
  });

  it('logout revokes nothing for a caller who came with an API key', async () => {
    await service.logout({
      id: user.id,
      username: user.username,
      email: user.email,
      role: 'user',
      createdAt: user.createdAt,
      tokenId: 'key:9d0e4b1c-0000-4000-8000-000000000002',
      tokenExpiresAt: new Date('2030-01-01T00:00:00.000Z'),
      apiKeyId: '9d0e4b1c-0000-4000-8000-000000000002',
    });
    expect(revoked.revoke).not.toHaveBeenCalled();
  });
});
