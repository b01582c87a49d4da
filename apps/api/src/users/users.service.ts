import { AdminBootstrapConfig } from '@app/config';
import { DomainError, ErrorCode } from '@app/common';
import { Role, User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';

import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';

export const ACCOUNT_GONE = 'This account no longer exists or has been disabled';

export interface NewUser {
  username: string;
  email: string;
  password: string;
  role?: Role;
}

export interface AccessChanges {
  role?: Role;
  disabled?: boolean;
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
      tokenVersion: 0,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
  }

  /**
   * Makes sure the given account exists as a usable admin with the given password: creates it,
   * or promotes (and re-enables) the user holding that username (or email) and resets their
   * password, which refuses every token issued before. An account already in that state is left
   * alone, so that restarting with the same ADMIN_* settings does not log the admin out.
   */
  async ensureAdmin(admin: AdminBootstrapConfig): Promise<{ user: User; created: boolean }> {
    const found =
      (await this.users.findByLogin(admin.username)) ?? (await this.users.findByLogin(admin.email));
    if (!found) {
      return { user: await this.register({ ...admin, role: 'admin' }), created: true };
    }
    const upToDate =
      found.role === 'admin' &&
      !found.disabled &&
      (await this.hasher.verify(admin.password, found.passwordHash));
    if (upToDate) return { user: found, created: false };
    const changes = {
      role: 'admin' as const,
      disabled: false,
      passwordHash: await this.hasher.hash(admin.password),
    };
    await this.users.update(found.id, changes, { revokeTokens: true });
    return {
      user: { ...found, ...changes, tokenVersion: found.tokenVersion + 1 },
      created: false,
    };
  }

  /**
   * Sets a user's role and disabled flag (absent fields are kept). Changing the role or disabling
   * refuses every token issued before: a disabled user is refused anyway, and a changed role must
   * be picked up by logging in again.
   */
  async updateAccess(id: string, changes: AccessChanges): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new DomainError(ErrorCode.NotFound, 'User not found');
    const next = { role: changes.role ?? user.role, disabled: changes.disabled ?? user.disabled };
    if (next.role === user.role && next.disabled === user.disabled) return user;
    const revokeTokens = next.role !== user.role || next.disabled;
    if (!(await this.users.update(id, next, { revokeTokens }))) {
      throw new DomainError(ErrorCode.NotFound, 'User not found');
    }
    return { ...user, ...next, tokenVersion: user.tokenVersion + (revokeTokens ? 1 : 0) };
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /**
   * For a transaction that writes rows of this user (sessions, messages, jobs): holds the user
   * row first, as the locking rules ask, and refuses with 401 when the account was deleted or
   * disabled since the request was authenticated.
   */
  async holdActive(manager: EntityManager, id: string): Promise<void> {
    if (!(await this.users.holdActive(manager, id))) {
      throw new DomainError(ErrorCode.Unauthorized, ACCOUNT_GONE);
    }
  }

  findByLogin(login: string): Promise<User | null> {
    return this.users.findByLogin(login);
  }

  findPage(limit: number, offset: number): Promise<[User[], number]> {
    return this.users.findPage(limit, offset);
  }
}
