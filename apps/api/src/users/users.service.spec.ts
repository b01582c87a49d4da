import { ErrorCode } from '@app/common';

import { userRow } from '../../../../test/support/builders';
import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';
import { AdminBootstrapRefused, UsersService } from './users.service';

const existing = userRow({
  id: 'u1',
  username: 'alice',
  usernameKey: 'allce',
  passwordHash: 'old',
  tokenVersion: 2,
});

describe('UsersService', () => {
  let repo: {
    findByIdentity: jest.Mock;
    findByLogin: jest.Mock;
    findById: jest.Mock;
    insert: jest.Mock;
    update: jest.Mock;
  };
  let hasher: { hash: jest.Mock; verify: jest.Mock };
  let service: UsersService;

  beforeEach(() => {
    repo = {
      findByIdentity: jest.fn().mockResolvedValue([]),
      findByLogin: jest.fn().mockResolvedValue(null),
      findById: jest.fn().mockResolvedValue(null),
      insert: jest.fn().mockResolvedValue(true),
      update: jest.fn().mockResolvedValue(true),
    };
    hasher = {
      hash: jest.fn((pw: string) => Promise.resolve(`hashed:${pw}`)),
      verify: jest.fn((pw: string, hash: string) => Promise.resolve(hash === `hashed:${pw}`)),
    };
    service = new UsersService(
      repo as unknown as UsersRepository,
      hasher as unknown as PasswordHasher,
    );
  });

  it('registers canonical names (NFKC, lower case), the skeleton, a hash and the user role', async () => {
    const user = await service.register({
      username: 'ＢＯＢ_9',
      email: ' Bob@X.io ',
      password: 'pw123456',
    });
    expect(user).toMatchObject({
      username: 'bob_9',
      usernameKey: 'bob9',
      email: 'bob@x.io',
      passwordHash: 'hashed:pw123456',
      role: 'user',
      tokenVersion: 0,
      disabled: false,
    });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(repo.findByIdentity).toHaveBeenCalledWith('bob_9', 'bob@x.io', 'bob9');
  });

  it('names which of username, look-alike username and email is taken', async () => {
    repo.findByIdentity.mockResolvedValue([existing]);
    await expect(
      service.register({ username: 'ALICE', email: 'new@x.io', password: 'pw123456' }),
    ).rejects.toMatchObject({
      code: ErrorCode.UsernameTaken,
      message: 'Username is already taken',
    });
    await expect(
      service.register({ username: 'a.lice', email: 'new@x.io', password: 'pw123456' }),
    ).rejects.toMatchObject({
      code: ErrorCode.UsernameTooSimilar,
      message: 'Username is too similar to an existing one',
    });
    await expect(
      service.register({ username: 'new', email: 'alice@example.com', password: 'pw123456' }),
    ).rejects.toMatchObject({ code: ErrorCode.EmailTaken, message: 'Email is already registered' });
  });

  it('names what a concurrent registration took first, or asks to try again', async () => {
    const input = { username: 'alice', email: 'alice@example.com', password: 'pw123456' };
    repo.insert.mockResolvedValue(false);
    repo.findByIdentity.mockResolvedValueOnce([]).mockResolvedValueOnce([existing]);
    await expect(service.register(input)).rejects.toMatchObject({ code: ErrorCode.UsernameTaken });
    repo.findByIdentity
      .mockResolvedValueOnce([])
      .mockResolvedValueOnce([{ ...existing, username: 'someone', usernameKey: 'someone' }]);
    await expect(service.register(input)).rejects.toMatchObject({ code: ErrorCode.EmailTaken });
    // The other registration was rolled back meanwhile: nothing is taken any more.
    repo.findByIdentity.mockResolvedValue([]);
    await expect(service.register(input)).rejects.toMatchObject({
      code: ErrorCode.DatabaseBusy,
      retryAfterSeconds: 1,
    });
  });

  it('refuses reserved names and their look-alikes, except for the operator’s admin', async () => {
    for (const username of ['admin', 'Adm1n', 'root', 'sys_admin', 'support']) {
      await expect(
        service.register({ username, email: `${username}@x.io`, password: 'pw123456' }),
      ).rejects.toMatchObject({ code: ErrorCode.UsernameReserved });
    }
    await expect(
      service.register(
        { username: 'admin', email: 'admin@x.io', password: 'pw123456', role: 'admin' },
        { allowReserved: true },
      ),
    ).resolves.toMatchObject({ username: 'admin' });
  });

  const promote = { promoteExisting: true };
  const keep = { promoteExisting: false };

  it('ensureAdmin creates a missing admin, even under a reserved name', async () => {
    const { user, changes } = await service.ensureAdmin(
      { username: 'root', email: 'root@x.io', password: 'pw123456' },
      keep,
    );
    expect(changes).toEqual(['created']);
    expect(user.role).toBe('admin');
  });

  it('ensureAdmin never adopts an existing non-admin account unless told to', async () => {
    repo.findByIdentity.mockResolvedValue([existing]);
    const admin = { username: 'alice', email: 'alice@example.com', password: 'new pw 123' };
    await expect(service.ensureAdmin(admin, keep)).rejects.toThrow(AdminBootstrapRefused);
    await expect(service.ensureAdmin(admin, keep)).rejects.toThrow(/ADMIN_PROMOTE_EXISTING/);
    expect(repo.update).not.toHaveBeenCalled();
  });

  it.each([
    ['the username with another email', { username: 'alice', email: 'other@x.io' }],
    ['the email with another username', { username: 'someone', email: 'alice@example.com' }],
    ['a look-alike of the username', { username: 'a_lice', email: 'alice@example.com' }],
  ])('ensureAdmin refuses %s, even when told to promote', async (_name, names) => {
    repo.findByIdentity.mockResolvedValue([existing]);
    await expect(
      service.ensureAdmin({ ...names, password: 'new pw 123' }, promote),
    ).rejects.toThrow(/does not match an existing account/);
    expect(repo.update).not.toHaveBeenCalled();
  });

  it('ensureAdmin, told to, promotes and re-enables the account, resets the password and ends its tokens', async () => {
    repo.findByIdentity.mockResolvedValue([{ ...existing, disabled: true }]);
    const { user, changes } = await service.ensureAdmin(
      { username: 'Alice', email: 'alice@example.com', password: 'new pw 123' },
      promote,
    );
    expect(changes).toEqual(['promoted', 're-enabled', 'password reset']);
    expect(user).toMatchObject({
      id: 'u1',
      role: 'admin',
      disabled: false,
      passwordHash: 'hashed:new pw 123',
      tokenVersion: 3,
    });
    expect(repo.update).toHaveBeenCalledWith(
      'u1',
      { role: 'admin', disabled: false, passwordHash: 'hashed:new pw 123' },
      { revokeTokens: true },
    );
  });

  it('ensureAdmin leaves an admin that already has that password alone (restarts keep tokens)', async () => {
    const admin = { ...existing, role: 'admin' as const, passwordHash: 'hashed:same pw 1' };
    repo.findByIdentity.mockResolvedValue([admin]);
    const result = await service.ensureAdmin(
      { username: 'alice', email: 'alice@example.com', password: 'same pw 1' },
      keep,
    );
    expect(result).toEqual({ user: admin, changes: [] });
    expect(repo.update).not.toHaveBeenCalled();
    expect(hasher.hash).not.toHaveBeenCalled();
  });

  describe('updateAccess', () => {
    beforeEach(() => repo.findById.mockResolvedValue(existing));

    it.each([
      ['a role change', { role: 'admin' as const }, { role: 'admin', disabled: false }],
      ['disabling', { disabled: true }, { role: 'user', disabled: true }],
    ])('ends every earlier token on %s', async (_name, changes, next) => {
      const user = await service.updateAccess('u1', changes);
      expect(user).toMatchObject({ ...next, tokenVersion: 3 });
      expect(repo.update).toHaveBeenCalledWith('u1', next, { revokeTokens: true });
    });

    it('re-enables without a bump: the tokens were ended when the user was disabled', async () => {
      repo.findById.mockResolvedValue({ ...existing, disabled: true });
      const user = await service.updateAccess('u1', { disabled: false });
      expect(user).toMatchObject({ disabled: false, tokenVersion: 2 });
      expect(repo.update).toHaveBeenCalledWith(
        'u1',
        { role: 'user', disabled: false },
        { revokeTokens: false },
      );
    });

    it('writes nothing when nothing changes', async () => {
      await expect(service.updateAccess('u1', { role: 'user', disabled: false })).resolves.toBe(
        existing,
      );
      expect(repo.update).not.toHaveBeenCalled();
    });

    it('answers "not found" for an unknown user, or one deleted meanwhile', async () => {
      const notFound = { code: ErrorCode.UserNotFound, message: 'User not found' };
      repo.findById.mockResolvedValue(null);
      await expect(service.updateAccess('u9', { disabled: true })).rejects.toMatchObject(notFound);
      repo.findById.mockResolvedValue(existing);
      repo.update.mockResolvedValue(false);
      await expect(service.updateAccess('u1', { disabled: true })).rejects.toMatchObject(notFound);
    });
  });
});
