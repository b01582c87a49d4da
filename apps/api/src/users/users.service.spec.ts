import { DomainError, ErrorCode } from '@app/common';
import { User } from '@app/database';

import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

const existing: User = {
  id: 'u1',
  username: 'alice',
  email: 'alice@example.com',
  passwordHash: 'old',
  role: 'user',
  tokenVersion: 2,
  disabled: false,
  createdAt: new Date(),
  updatedAt: new Date(),
};

describe('UsersService', () => {
  let repo: {
    findByUsernameOrEmail: jest.Mock;
    findByLogin: jest.Mock;
    findById: jest.Mock;
    insert: jest.Mock;
    update: jest.Mock;
  };
  let hasher: { hash: jest.Mock; verify: jest.Mock };
  let service: UsersService;

  beforeEach(() => {
    repo = {
      findByUsernameOrEmail: jest.fn().mockResolvedValue([]),
      findByLogin: jest.fn().mockResolvedValue(null),
      findById: jest.fn().mockResolvedValue(null),
      insert: jest.fn((u: User) => Promise.resolve(u)),
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

  it('registers with lower-cased names, a hashed password and the user role', async () => {
    const user = await service.register({
      username: 'Bob',
      email: 'Bob@X.io',
      password: 'pw123456',
    });
    expect(user).toMatchObject({
      username: 'bob',
      email: 'bob@x.io',
      passwordHash: 'hashed:pw123456',
      role: 'user',
      tokenVersion: 0,
      disabled: false,
    });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('names which of username and email is taken', async () => {
    repo.findByUsernameOrEmail.mockResolvedValue([existing]);
    await expect(
      service.register({ username: 'ALICE', email: 'new@x.io', password: 'pw123456' }),
    ).rejects.toThrow(new DomainError(ErrorCode.Conflict, 'Username is already taken'));
    await expect(
      service.register({ username: 'new', email: 'alice@example.com', password: 'pw123456' }),
    ).rejects.toThrow('Email is already registered');
  });

  it('ensureAdmin creates a missing admin', async () => {
    const { user, created } = await service.ensureAdmin({
      username: 'root',
      email: 'root@x.io',
      password: 'pw123456',
    });
    expect(created).toBe(true);
    expect(user.role).toBe('admin');
  });

  it('ensureAdmin promotes and re-enables the user holding the email, resets the password and ends their tokens', async () => {
    repo.findByLogin.mockImplementation((login: string) =>
      Promise.resolve(login === 'alice@example.com' ? { ...existing, disabled: true } : null),
    );
    const { user, created } = await service.ensureAdmin({
      username: 'someone_else',
      email: 'alice@example.com',
      password: 'new pw 123',
    });
    expect(created).toBe(false);
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
    repo.findByLogin.mockResolvedValue(admin);
    const result = await service.ensureAdmin({
      username: 'alice',
      email: 'alice@example.com',
      password: 'same pw 1',
    });
    expect(result).toEqual({ user: admin, created: false });
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
      const notFound = new DomainError(ErrorCode.NotFound, 'User not found');
      repo.findById.mockResolvedValue(null);
      await expect(service.updateAccess('u9', { disabled: true })).rejects.toThrow(notFound);
      repo.findById.mockResolvedValue(existing);
      repo.update.mockResolvedValue(false);
      await expect(service.updateAccess('u1', { disabled: true })).rejects.toThrow(notFound);
    });
  });
});
