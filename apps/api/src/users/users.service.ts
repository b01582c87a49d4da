import { AdminBootstrapConfig } from '@app/config';
import { DomainError, ErrorCode } from '@app/common';
import { DATABASE_BUSY_MESSAGE, Role, User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';

import { canonical, RESERVED_USERNAMES, skeleton } from './identity';
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

/** What the admin bootstrap (ADMIN_*) or the CLI may do with an account that already exists. */
export interface EnsureAdminOptions {
  /** Make an existing non-admin account (same username and email) the admin. */
  promoteExisting: boolean;
}

/** The admin bootstrap refused to touch an account: the operator must decide (start-up stops). */
export class AdminBootstrapRefused extends Error {
  override readonly name = 'AdminBootstrapRefused';
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * A new account. Usernames and emails are canonicalised (identity.ts); a username that looks
   * like an existing one (same skeleton) or a reserved one is refused, unless `allowReserved`
   * (the operator's own admin).
   */
  async register(input: NewUser, options: { allowReserved?: boolean } = {}): Promise<User> {
    const username = canonical(input.username);
    const email = canonical(input.email);
    const usernameKey = skeleton(username);
    if (!options.allowReserved && RESERVED_USERNAMES.has(usernameKey)) {
      throw new DomainError(ErrorCode.UsernameReserved, 'This username is reserved');
    }
    await this.refuseTaken(username, email, usernameKey);
    const now = new Date();
    const user: User = {
      id: randomUUID(),
      username,
      usernameKey,
      email,
      passwordHash: await this.hasher.hash(input.password),
      role: input.role ?? 'user',
      tokenVersion: 0,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    if (await this.users.insert(user)) return user;
    // A concurrent registration took one of them since the check: say which.
    await this.refuseTaken(username, email, usernameKey);
    // ...unless it was rolled back since: then nothing is taken, and trying again will do.
    throw new DomainError(ErrorCode.DatabaseBusy, DATABASE_BUSY_MESSAGE, 1);
  }

  private async refuseTaken(username: string, email: string, usernameKey: string): Promise<void> {
    const taken = await this.users.findByIdentity(username, email, usernameKey);
    if (taken.some((u) => u.username === username)) {
      throw new DomainError(ErrorCode.UsernameTaken, 'Username is already taken');
    }
    if (taken.some((u) => u.usernameKey === usernameKey)) {
      throw new DomainError(
        ErrorCode.UsernameTooSimilar,
        'Username is too similar to an existing one',
      );
    }
    if (taken.some((u) => u.email === email)) {
      throw new DomainError(ErrorCode.EmailTaken, 'Email is already registered');
    }
  }

  /**
   * Makes sure the given account exists as a usable admin with the given password. Creates it
   * when neither the username nor the email is taken. An existing account is only touched when
   * both its username and its email are the given ones, and a non-admin one only with
   * `promoteExisting`: someone may have registered that name first, with their own email and
   * memories, waiting to be promoted. Returns what was changed (nothing when up to date, so that
   * restarts with the same settings keep the admin's tokens).
   */
  async ensureAdmin(
    admin: AdminBootstrapConfig,
    options: EnsureAdminOptions,
  ): Promise<{ user: User; changes: string[] }> {
    const username = canonical(admin.username);
    const email = canonical(admin.email);
    const found = await this.users.findByIdentity(username, email, skeleton(username));
    if (found.length === 0) {
      const user = await this.register({ ...admin, role: 'admin' }, { allowReserved: true });
      return { user, changes: ['created'] };
    }
    const [account] = found;
    if (found.length > 1 || account.username !== username || account.email !== email) {
      throw new AdminBootstrapRefused(
        `The admin "${username}" <${email}> does not match an existing account: the username or ` +
          'the email (or a look-alike of the username) belongs to another account. Choose another ' +
          'admin username and email, or correct them.',
      );
    }
    if (account.role !== 'admin' && !options.promoteExisting) {
      throw new AdminBootstrapRefused(
        `"${username}" is an existing account that is not an admin; it is not promoted ` +
          'automatically. Set ADMIN_PROMOTE_EXISTING=true to make it the admin (it keeps its ' +
          'sessions and memories), or choose another admin username.',
      );
    }
    const changes: string[] = [];
    if (account.role !== 'admin') changes.push('promoted');
    if (account.disabled) changes.push('re-enabled');
    const samePassword = await this.hasher.verify(admin.password, account.passwordHash);
    if (!samePassword) changes.push('password reset');
    if (changes.length === 0) return { user: account, changes };
    const update = {
      role: 'admin' as const,
      disabled: false,
      ...(samePassword ? {} : { passwordHash: await this.hasher.hash(admin.password) }),
    };
    await this.users.update(account.id, update, { revokeTokens: true });
    return {
      user: { ...account, ...update, tokenVersion: account.tokenVersion + 1 },
      changes,
    };
  }

  /**
   * Sets a user's role and disabled flag (absent fields are kept). Changing the role or disabling
   * refuses every token issued before: a disabled user is refused anyway, and a changed role must
   * be picked up by logging in again.
   */
  async updateAccess(id: string, changes: AccessChanges): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new DomainError(ErrorCode.UserNotFound, 'User not found');
    const next = { role: changes.role ?? user.role, disabled: changes.disabled ?? user.disabled };
    if (next.role === user.role && next.disabled === user.disabled) return user;
    const revokeTokens = next.role !== user.role || next.disabled;
    if (!(await this.users.update(id, next, { revokeTokens }))) {
      throw new DomainError(ErrorCode.UserNotFound, 'User not found');
    }
    return { ...user, ...next, tokenVersion: user.tokenVersion + (revokeTokens ? 1 : 0) };
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /** The user a token names and whether that token was revoked, in one query. */
  findTokenHolder(id: string, jti: string): Promise<{ user: User | null; revoked: boolean }> {
    return this.users.findTokenHolder(id, jti);
  }

  /**
   * For a transaction that writes rows of this user (sessions, messages, jobs): holds the user
   * row first, as the locking rules ask, and refuses with 401 when the account was deleted or
   * disabled since the request was authenticated.
   */
  async holdActive(manager: EntityManager, id: string): Promise<void> {
    if (!(await this.users.holdActive(manager, id))) {
      throw new DomainError(ErrorCode.AccountGone, ACCOUNT_GONE);
    }
  }

  /**
   * Like holdActive, with an exclusive lock (to count the user's rows, then insert one) and the
   * user's current token_version as the answer.
   */
  async holdExclusively(manager: EntityManager, id: string): Promise<number> {
    const tokenVersion = await this.users.holdExclusively(manager, id);
    if (tokenVersion === null) throw new DomainError(ErrorCode.AccountGone, ACCOUNT_GONE);
    return tokenVersion;
  }

  /** A username or an email, in any spelling that canonicalises to it. */
  findByLogin(login: string): Promise<User | null> {
    return this.users.findByLogin(canonical(login));
  }

  findPage(limit: number, offset: number): Promise<[User[], number]> {
    return this.users.findPage(limit, offset);
  }
}
