import { API_KEY_PATTERN, DomainError, ErrorCode } from '@app/common';
import { ApiKey } from '@app/database';
import { Logger } from '@nestjs/common';

import { authenticatedUser, loadTestConfig, userRow } from '../../../../test/support/builders';
import { UsersService } from '../users/users.service';
import { hashApiKey, newApiKeySecret } from './api-key-secret';
import { ApiKeysRepository, KeyHolder } from './api-keys.repository';
import { ApiKeysService, LAST_USED_INTERVAL_MS, NEVER_EXPIRES } from './api-keys.service';

const owner = userRow({ tokenVersion: 2 });
const KEY_ID = '9d0e4b1c-0000-4000-8000-000000000002';

describe('API key secrets', () => {
  it('are cbk_ and 32 random bytes, shown by a prefix, stored as their SHA-256', () => {
    const a = newApiKeySecret();
    const b = newApiKeySecret();
    expect(a.key).toMatch(API_KEY_PATTERN);
    expect(Buffer.from(a.key.slice(4), 'base64url')).toHaveLength(32);
    expect(a.key).not.toBe(b.key);
    expect(a.prefix).toBe(a.key.slice(0, 12));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash).toBe(hashApiKey(a.key));
    expect(a.hash).not.toContain(a.key.slice(4));
  });
});

describe('ApiKeysService', () => {
  let keys: {
    create: jest.Mock;
    findHolder: jest.Mock;
    touch: jest.Mock;
    deleteForUser: jest.Mock;
    findForUser: jest.Mock;
  };
  let users: { findById: jest.Mock };
  let holder: KeyHolder | null;
  let service: ApiKeysService;
  const secret = newApiKeySecret();

  beforeEach(() => {
    holder = {
      key: { id: KEY_ID, tokenVersion: 2, expiresAt: null, lastUsedAt: null },
      user: owner,
    };
    keys = {
      create: jest.fn((key: Omit<ApiKey, 'tokenVersion'>) =>
        Promise.resolve({ ...key, tokenVersion: 2 }),
      ),
      findHolder: jest.fn(() => Promise.resolve(holder)),
      touch: jest.fn().mockResolvedValue(undefined),
      deleteForUser: jest.fn().mockResolvedValue(true),
      findForUser: jest.fn().mockResolvedValue([]),
    };
    users = { findById: jest.fn().mockResolvedValue(owner) };
    service = new ApiKeysService(
      loadTestConfig({ API_KEYS_MAX_PER_USER: '3' }),
      keys as unknown as ApiKeysRepository,
      users as unknown as UsersService,
    );
  });
  afterEach(() => jest.restoreAllMocks());

  describe('create', () => {
    it('stores the hash and the prefix, never the key, under the configured limit', async () => {
      const caller = authenticatedUser({ id: owner.id, tokenVersion: 2 });
      const { key, secret: shown } = await service.create(caller, { name: 'editor' });
      expect(shown).toMatch(API_KEY_PATTERN);
      const [stored, options] = keys.create.mock.calls[0] as [ApiKey, object];
      expect(stored).toMatchObject({
        userId: owner.id,
        name: 'editor',
        prefix: shown.slice(0, 12),
        keyHash: hashApiKey(shown),
        lastUsedAt: null,
        expiresAt: null,
      });
      expect(JSON.stringify(stored)).not.toContain(shown.slice(4));
      expect(options).toEqual({ max: 3, tokenVersion: 2 });
      expect(key.id).toBe(stored.id);
    });

    it('sets the expiry that many days from now', async () => {
      const before = Date.now();
      const { key } = await service.create(authenticatedUser(), { name: 'x', expiresInDays: 30 });
      const days = (key.expiresAt!.getTime() - before) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(30);
      expect(days).toBeLessThan(30.001);
    });
  });

  it('revoke answers API_KEY_NOT_FOUND when nothing of the user matched', async () => {
    keys.deleteForUser.mockResolvedValue(false);
    const error = await service.revoke(owner.id, KEY_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: ErrorCode.ApiKeyNotFound, message: 'API key not found' });
  });

  it("an admin's list answers USER_NOT_FOUND for an unknown user", async () => {
    users.findById.mockResolvedValue(null);
    await expect(service.listOfUser(owner.id)).rejects.toMatchObject({
      code: ErrorCode.UserNotFound,
    });
  });

  describe('authenticate', () => {
    it('turns a live key into its owner, marked as a key caller', async () => {
      const caller = await service.authenticate(secret.key);
      expect(keys.findHolder).toHaveBeenCalledWith(secret.hash);
      expect(caller).toEqual({
        id: owner.id,
        username: owner.username,
        email: owner.email,
        role: owner.role,
        createdAt: owner.createdAt,
        tokenId: `key:${KEY_ID}`,
        tokenExpiresAt: NEVER_EXPIRES,
        tokenVersion: 2,
        apiKeyId: KEY_ID,
      });
    });

    it('gives the key’s expiry as the caller’s', async () => {
      const expiresAt = new Date(Date.now() + 60_000);
      holder!.key.expiresAt = expiresAt;
      await expect(service.authenticate(secret.key)).resolves.toMatchObject({
        tokenExpiresAt: expiresAt,
      });
    });

    it.each([
      ['a malformed key', `cbk_${'A'.repeat(42)}`],
      ['a key with a character past base64url', `cbk_${'A'.repeat(42)}=`],
      ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ])('refuses %s without asking the database', async (_name, raw) => {
      await expect(service.authenticate(raw)).resolves.toBeNull();
      expect(keys.findHolder).not.toHaveBeenCalled();
    });

    it('refuses an unknown key', async () => {
      holder = null;
      await expect(service.authenticate(secret.key)).resolves.toBeNull();
    });

    it('refuses an expired key, a disabled owner and a token-version bump', async () => {
      holder!.key.expiresAt = new Date(Date.now() - 1);
      await expect(service.authenticate(secret.key)).resolves.toBeNull();
      holder!.key.expiresAt = null;
      holder!.user = { ...owner, disabled: true };
      await expect(service.authenticate(secret.key)).resolves.toBeNull();
      holder!.user = { ...owner, tokenVersion: 3 };
      await expect(service.authenticate(secret.key)).resolves.toBeNull();
      expect(keys.touch).not.toHaveBeenCalled();
    });

    it('records a use at most once a minute, without making the request wait', async () => {
      let finish!: () => void;
      keys.touch.mockReturnValue(new Promise<void>((resolve) => (finish = resolve)));
      await service.authenticate(secret.key);
      // A second request while the first write is under way does not write again.
      await service.authenticate(secret.key);
      expect(keys.touch).toHaveBeenCalledTimes(1);
      const [id, at, notBefore] = keys.touch.mock.calls[0] as [string, Date, Date];
      expect(id).toBe(KEY_ID);
      expect(at.getTime() - notBefore.getTime()).toBe(LAST_USED_INTERVAL_MS);
      finish();
      await service.onModuleDestroy();

      // Used 10 s ago: nothing to write. A minute ago: written again.
      holder!.key.lastUsedAt = new Date(Date.now() - 10_000);
      await service.authenticate(secret.key);
      expect(keys.touch).toHaveBeenCalledTimes(1);
      holder!.key.lastUsedAt = new Date(Date.now() - LAST_USED_INTERVAL_MS);
      keys.touch.mockResolvedValue(undefined);
      await service.authenticate(secret.key);
      expect(keys.touch).toHaveBeenCalledTimes(2);
    });

    it('still lets the request through when recording the use fails, and logs no key', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation();
      keys.touch.mockRejectedValue(new Error('database is down'));
      await expect(service.authenticate(secret.key)).resolves.toMatchObject({ id: owner.id });
      await service.onModuleDestroy();
      expect(warn).toHaveBeenCalledTimes(1);
      const logged = JSON.stringify(warn.mock.calls[0], (_k, v: unknown) =>
        v instanceof Error ? v.message : v,
      );
      expect(logged).toContain(KEY_ID);
      expect(logged).not.toContain(secret.key);
      expect(logged).not.toContain(secret.hash);
    });
  });
});
