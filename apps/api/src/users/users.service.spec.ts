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
  createdAt: new Date(),
  updatedAt: new Date(),
};

describe('UsersService', () => {
  let repo: {
    findByUsernameOrEmail: jest.Mock;
    findByLogin: jest.Mock;
    insert: jest.Mock;
    update: jest.Mock;
  };
  let service: UsersService;

  beforeEach(() => {
    repo = {
      findByUsernameOrEmail: jest.fn().mockResolvedValue([]),
      findByLogin: jest.fn().mockResolvedValue(null),
      insert: jest.fn((u: User) => Promise.resolve(u)),
      update: jest.fn(),
    };
    const hasher = { hash: jest.fn((pw: string) => Promise.resolve(`hashed:${pw}`)) };
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

  it('ensureAdmin promotes the user holding the email and resets the password', async () => {
    repo.findByLogin.mockImplementation((login: string) =>
      Promise.resolve(login === 'alice@example.com' ? existing : null),
    );
    const { user, created } = await service.ensureAdmin({
      username: 'someone_else',
      email: 'alice@example.com',
      password: 'new pw 123',
    });
    expect(created).toBe(false);
    expect(user).toMatchObject({ id: 'u1', role: 'admin', passwordHash: 'hashed:new pw 123' });
    expect(repo.update).toHaveBeenCalledWith('u1', {
      role: 'admin',
      passwordHash: 'hashed:new pw 123',
    });
  });
});
