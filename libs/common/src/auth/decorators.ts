import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { DomainError } from '../errors/domain-error';
import { ErrorCode } from '../errors/error-codes';
import { canonicalUuid } from '../http/uuid';
import type { AuthenticatedUser } from './authenticated-user';

export const IS_PUBLIC_KEY = 'auth:public';
export const REQUIRES_ADMIN_KEY = 'auth:admin';
export const BEARER_AUTH_NAME = 'bearer';

/** A route anyone may call. Every other route requires a valid token (the guard is global). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);

/** A route that needs a valid token, and with `{ admin: true }` the admin role. */
export function Authenticated(options: { admin?: boolean } = {}): MethodDecorator & ClassDecorator {
  const decorators = [
    SetMetadata(REQUIRES_ADMIN_KEY, options.admin === true),
    ApiBearerAuth(BEARER_AUTH_NAME),
    ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' }),
  ];
  if (options.admin) decorators.push(ApiForbiddenResponse({ description: 'Admin role required' }));
  return applyDecorators(...decorators);
}

/** The authenticated caller, as set by the global guard. */
export const AuthUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthenticatedUser =>
    ctx.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);

/**
 * The `{user_id}` path parameter, which must be the caller's own id: 400 when it is not a UUID,
 * 403 when it is someone else's. Compared in its canonical (lower-case) form, so that the
 * caller's own id in any case is theirs. Hands the handler the verified id, never the client's
 * string.
 */
export const SelfUserId = createParamDecorator(
  (param: string | undefined, ctx: ExecutionContext) => {
    const name = param ?? 'user_id';
    const request = ctx.switchToHttp().getRequest<{
      user: AuthenticatedUser;
      params: Record<string, string>;
    }>();
    const id = canonicalUuid(request.params[name]);
    if (id === null) throw new DomainError(ErrorCode.ValidationFailed, `${name} must be a UUID`);
    if (id !== request.user.id) {
      throw new DomainError(ErrorCode.NotYourData, 'You can only access your own data');
    }
    return request.user.id;
  },
);
