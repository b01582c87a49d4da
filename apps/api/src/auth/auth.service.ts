import { AuthenticatedUser, authenticatedUser, DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';

import { LoginFailureLimiter } from '../throttling/login-failure-limiter';
import { canonical } from '../users/identity';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import { RevokedTokensRepository } from './revoked-tokens.repository';
import { TokenPayload } from './token-payload';

export const INVALID_CREDENTIALS = 'Invalid username or password';
export const ACCOUNT_DISABLED = 'Account is disabled';

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  user: User;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly revokedTokens: RevokedTokensRepository,
    private readonly failures: LoginFailureLimiter,
  ) {}

  /**
   * Same error, and about the same time, whether the user is unknown or the password wrong. That
   * an account is disabled is told only to someone who knows its password. Failures are counted
   * against the account (however it was named) and the client address (LoginFailureLimiter).
   */
  async login(login: string, password: string, address?: string): Promise<IssuedToken> {
    const user = await this.users.findByLogin(login);
    const attempt = { account: user ? `user:${user.id}` : `name:${canonical(login)}`, address };
    await this.failures.assertAllowed(attempt);
    const valid = user
      ? await this.hasher.verify(password, user.passwordHash)
      : await this.hasher.verifyAgainstDummy(password);
    if (!user || !valid) {
      await this.failures.recordFailure(attempt);
      throw new DomainError(ErrorCode.InvalidCredentials, INVALID_CREDENTIALS);
    }
    if (user.disabled) throw new DomainError(ErrorCode.AccountDisabled, ACCOUNT_DISABLED);
    return this.issueToken(user);
  }

  async issueToken(user: User): Promise<IssuedToken> {
    const expiresIn = this.config.auth.jwtExpiresInSeconds;
    const accessToken = await this.jwt.signAsync(
      { sub: user.id, role: user.role, ver: user.tokenVersion },
      { jwtid: randomUUID(), expiresIn },
    );
    return { accessToken, expiresIn, user };
  }

  /**
   * Resolves a verified token to its user; null when revoked, issued before the user's
   * token_version was bumped, or the user is gone or disabled.
   */
  async authenticate(payload: TokenPayload): Promise<AuthenticatedUser | null> {
    const { user, revoked } = await this.users.findTokenHolder(payload.sub, payload.jti);
    if (revoked || !user || user.disabled) return null;
    // Tokens issued before `ver` existed count as version 0, which any bump already refuses.
    if ((payload.ver ?? 0) !== user.tokenVersion) return null;
    return authenticatedUser(user, {
      tokenId: payload.jti,
      tokenExpiresAt: new Date(payload.exp * 1000),
      tokenVersion: user.tokenVersion,
    });
  }

  /**
   * Revokes the caller's token. A caller who came with an API key has no token to revoke (keys are
   * revoked by id, DELETE /auth/api-keys/{key_id}); logout does not take keys anyway, but if a
   * route ever did, it must not put `key:<id>` on the revoked list nor touch anything else.
   */
  async logout(caller: AuthenticatedUser): Promise<void> {
    if (caller.apiKeyId !== undefined) return;
    await this.revokedTokens.revoke({
      jti: caller.tokenId,
      userId: caller.id,
      expiresAt: caller.tokenExpiresAt,
    });
  }
}
