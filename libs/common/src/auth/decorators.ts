import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';

import { ApiErrors, ApiPublic, documentParameterErrors } from '../errors/api-errors';
import { DomainError } from '../errors/domain-error';
import { ErrorCode } from '../errors/error-codes';
import { canonicalUuid } from '../http/uuid';
import { ACCEPTS_API_KEYS_KEY } from './api-keys';
import type { AuthenticatedUser } from './authenticated-user';
import { Roles, RolesGuard } from './roles.guard';

export const IS_PUBLIC_KEY = 'auth:public';
export const BEARER_AUTH_NAME = 'bearer';

/** A route anyone may call. Every other route requires a valid token (the guard is global). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiPublic());

export interface AuthenticatedOptions {
  /** Only callers with the admin role (RolesGuard). */
  admin?: boolean;
  /**
   * A personal API key (`Bearer cbk_…`) is accepted as well as a JWT. Meant for the
   * OpenAI-compatible `/v1` routes only: on every other route a key is an invalid token (401).
   * Never on admin routes.
   */
  apiKeys?: boolean;
}

/**
 * A route that needs a valid token (the global JWT guard), and with `{ admin: true }` the admin
 * role (RolesGuard). Without it, the route takes any role, even inside an admin controller. With
 * `{ apiKeys: true }` the guard also takes an API key. Each use sets both, so a method's
 * `@Authenticated()` overrides its controller's choice either way.
 */
export function Authenticated(
  options: AuthenticatedOptions = {},
): MethodDecorator & ClassDecorator {
  if (options.admin && options.apiKeys) {
    throw new Error('API keys are not accepted on admin routes');
  }
  const decorators = [
    ApiBearerAuth(BEARER_AUTH_NAME),
    SetMetadata(ACCEPTS_API_KEYS_KEY, options.apiKeys === true),
  ];
  if (options.admin) {
    decorators.push(Roles('admin'), UseGuards(RolesGuard), ApiErrors(ErrorCode.AdminRequired));
  } else {
    decorators.push(Roles());
  }
  return applyDecorators(...decorators);
}

/** The authenticated caller, as set by the global guard. */
export const AuthUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthenticatedUser =>
    ctx.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);

const selfUserId = createParamDecorator((param: string | undefined, ctx: ExecutionContext) => {
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
});

/**
 * The `{user_id}` path parameter, which must be the caller's own id: 400 when it is not a UUID,
 * 403 when it is someone else's. Compared in its canonical (lower-case) form, so that the
 * caller's own id in any case is theirs. Hands the handler the verified id, never the client's
 * string. Documents both answers in the API document.
 */
export function SelfUserId(param?: string): ParameterDecorator {
  const decorator = selfUserId(param);
  return (target, key, index) => {
    decorator(target, key, index);
    documentParameterErrors(target, key, [ErrorCode.ValidationFailed, ErrorCode.NotYourData]);
  };
}
