import {
  ACCEPTS_API_KEYS_KEY,
  API_KEY_PREFIX,
  AuthenticatedUser,
  DomainError,
  ErrorCode,
  IS_PUBLIC_KEY,
} from '@app/common';
import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { IncomingHttpHeaders } from 'node:http';

import { ApiKeysService } from '../api-keys/api-keys.service';
import { bearerToken } from './bearer-token';
import { JWT_STRATEGY_NAME } from './jwt.strategy';

/**
 * Global guard (APP_GUARD): every route needs a valid token unless marked @Public(). Passport's
 * JwtStrategy of this app instance does the checking and sets `request.user`; roles are
 * RolesGuard's business (@Authenticated({ admin: true })). On a route marked
 * `@Authenticated({ apiKeys: true })`, a bearer token that starts with `cbk_` is a personal API
 * key, checked by ApiKeysService instead; anywhere else it is just a token that is not a JWT (401).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard() {
  constructor(
    @Inject(JWT_STRATEGY_NAME) strategy: string,
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {
    super({ defaultStrategy: strategy });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    if (this.reflector.getAllAndOverride<boolean>(ACCEPTS_API_KEYS_KEY, targets)) {
      const request = context
        .switchToHttp()
        .getRequest<{ headers: IncomingHttpHeaders; user?: AuthenticatedUser }>();
      const token = bearerToken(request);
      if (token?.startsWith(API_KEY_PREFIX)) {
        request.user = this.handleRequest(null, await this.apiKeys.authenticate(token));
        return true;
      }
    }
    return (await super.canActivate(context)) as boolean;
  }

  /** Every token problem is one plain 401; a database error propagates (503/500). */
  override handleRequest<TUser = AuthenticatedUser>(
    err: Error | null,
    user: TUser | false | null,
  ): TUser {
    if (err) throw err;
    if (!user) throw new DomainError(ErrorCode.TokenInvalid, 'Invalid or missing access token');
    return user;
  }
}
