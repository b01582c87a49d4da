import { AdminBootstrapConfig } from '@app/config';
import { DomainError, ErrorCode } from '@app/common';
import { Role, User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';

export interface NewUser {
  username: string;
  email: string;
  password: string;
  role?: Role;
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  async register(input: NewUser): Promise<User> {
    const username = input.username.toLowerCase();
    const email = input.email.toLowerCase();
    const taken = await this.users.findByUsernameOrEmail(username, email);
    if (taken.some((u) => u.username === username)) {
      throw new DomainError(ErrorCode.Conflict, 'Username is already taken');
    }
    if (taken.some((u) => u.email === email)) {
      throw new DomainError(ErrorCode.Conflict, 'Email is already registered');
    }
    const now = new Date();
    return this.users.insert({
      id: randomUUID(),
      username,
      email,
      passwordHash: await this.hasher.hash(input.password),
      role: input.role ?? 'user',
      createdAt: now,
      updatedAt: now,
    });
  }

  /**
   * Makes sure the given account exists as an admin with the given password: creates it, or
   * promotes the user holding that username (or email) and resets their password.
   */
  async ensureAdmin(admin: AdminBootstrapConfig): Promise<{ user: User; created: boolean }> {
    const found =
      (await this.users.findByLogin(admin.username)) ?? (await this.users.findByLogin(admin.email));
    if (!found) {
      return { user: await this.register({ ...admin, role: 'admin' }), created: true };
    }
    const passwordHash = await this.hasher.hash(admin.password);
    await this.users.update(found.id, { role: 'admin', passwordHash });
    return { user: { ...found, role: 'admin', passwordHash }, created: false };
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  findByLogin(login: string): Promise<User | null> {
    return this.users.findByLogin(login);
  }

  findPage(limit: number, offset: number): Promise<[User[], number]> {
    return this.users.findPage(limit, offset);
  }
}
