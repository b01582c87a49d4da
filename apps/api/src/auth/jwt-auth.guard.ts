import { AuthenticatedUser, DomainError, ErrorCode, IS_PUBLIC_KEY } from '@app/common';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';

import { AuthService } from './auth.service';
import { bearerToken } from './bearer-token';
import { TokenPayload } from './token-payload';

/**
 * Global guard: every route needs a valid token unless marked @Public(); roles are RolesGuard's
 * business (@Authenticated({ admin: true })). The signature, algorithm (pinned),
 * expiry, issuer and audience are checked by JwtService (configured in AuthModule); revocation
 * and the user's current role by AuthService. Verification is done here rather than through
 * passport's process-wide strategy registry, which would make two app instances in one process
 * (tests) authenticate against each other's database.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: AuthenticatedUser }>();
    request.user = await this.authenticate(bearerToken(request));
    return true;
  }

  private async authenticate(token: string | null): Promise<AuthenticatedUser> {
    const payload = token ? await this.verify(token) : null;
    // Database errors propagate (503/500); every token problem is one plain 401.
    const user = payload ? await this.auth.authenticate(payload) : null;
    if (!user) throw new DomainError(ErrorCode.TokenInvalid, 'Invalid or missing access token');
    return user;
  }

  private async verify(token: string): Promise<TokenPayload | null> {
    try {
      const payload = await this.jwt.verifyAsync<Partial<TokenPayload>>(token);
      const valid =
        typeof payload.sub === 'string' &&
        typeof payload.jti === 'string' &&
        typeof payload.exp === 'number';
      return valid ? (payload as TokenPayload) : null;
    } catch {
      return null;
    }
  }
}
