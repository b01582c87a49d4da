import type { Role } from '@app/database';
import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { DomainError } from '../errors/domain-error';
import { ErrorCode } from '../errors/error-codes';
import type { AuthenticatedUser } from './authenticated-user';

export const ROLES_KEY = 'auth:roles';

/** The roles a route accepts (any of them); none listed means any authenticated caller. */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  SetMetadata(ROLES_KEY, roles);

/**
 * The admin rule, in one place. Applied by @Authenticated({ admin: true }); runs after the global
 * JWT guard, which has set `request.user` from the current user row (never from the token's claim).
 * The only role a route can require today is admin, hence the one error.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const { user } = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>();
    if (!user) throw new DomainError(ErrorCode.TokenInvalid, 'Invalid or missing access token');
    if (!roles.includes(user.role))
      throw new DomainError(ErrorCode.AdminRequired, 'Admin role required');
    return true;
  }
}
