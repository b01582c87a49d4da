import { AuthenticatedUser, DomainError, ErrorCode, IS_PUBLIC_KEY } from '@app/common';
import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';

import { JWT_STRATEGY_NAME } from './jwt.strategy';

/**
 * Global guard (APP_GUARD): every route needs a valid token unless marked @Public(). Passport's
 * JwtStrategy of this app instance does the checking and sets `request.user`; roles are
 * RolesGuard's business (@Authenticated({ admin: true })).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard() {
  constructor(
    @Inject(JWT_STRATEGY_NAME) strategy: string,
    private readonly reflector: Reflector,
  ) {
    super({ defaultStrategy: strategy });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
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
