import { Controller, ExecutionContext, Get, UseGuards } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';

import { DomainError } from '../errors/domain-error';
import { ErrorCode } from '../errors/error-codes';
import type { AuthenticatedUser } from './authenticated-user';
import { Authenticated } from './decorators';
import { Roles, RolesGuard } from './roles.guard';

@Authenticated({ admin: true })
@Controller('admin-things')
class AdminController {
  @Get()
  list(): void {}

  @Authenticated()
  @Get('open')
  open(): void {}
}

@Authenticated()
@Controller('things')
class UserController {
  @Get()
  list(): void {}

  @Roles('admin')
  @UseGuards(RolesGuard)
  @Get('admin')
  adminOnly(): void {}
}

const caller = (role: AuthenticatedUser['role']): AuthenticatedUser => ({
  id: '4f1d7a2e-0000-4000-8000-000000000001',
  username: 'alice',
  email: 'alice@example.com',
  role,
  createdAt: new Date(0),
  tokenId: 'jti',
  tokenExpiresAt: new Date(0),
});

function contextOf(
  cls: new () => object,
  method: string,
  user?: AuthenticatedUser,
): ExecutionContext {
  const handler = (cls.prototype as Record<string, () => void>)[method];
  return {
    getClass: () => cls,
    getHandler: () => handler,
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

describe('RolesGuard', () => {
  const guard = new RolesGuard(new Reflector());
  const refusal = (context: ExecutionContext) => {
    try {
      guard.canActivate(context);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('lets an admin through a route of an admin controller', () => {
    expect(guard.canActivate(contextOf(AdminController, 'list', caller('admin')))).toBe(true);
  });

  it('refuses a user with ADMIN_REQUIRED, not a generic 403', () => {
    const error = refusal(contextOf(AdminController, 'list', caller('user')));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: ErrorCode.AdminRequired, message: 'Admin role required' });
  });

  it('refuses a request that reached it without a caller as a missing token', () => {
    expect(refusal(contextOf(AdminController, 'list'))).toMatchObject({
      code: ErrorCode.TokenInvalid,
    });
  });

  it('lets any role through where @Authenticated() without admin overrides the class', () => {
    expect(guard.canActivate(contextOf(AdminController, 'open', caller('user')))).toBe(true);
  });

  it('reads @Roles on a method as well', () => {
    expect(guard.canActivate(contextOf(UserController, 'list', caller('user')))).toBe(true);
    expect(refusal(contextOf(UserController, 'adminOnly', caller('user')))).toMatchObject({
      code: ErrorCode.AdminRequired,
    });
    expect(guard.canActivate(contextOf(UserController, 'adminOnly', caller('admin')))).toBe(true);
  });

  it('is applied by @Authenticated({ admin: true }) and only by it', () => {
    expect(Reflect.getMetadata(GUARDS_METADATA, AdminController)).toEqual([RolesGuard]);
    expect(Reflect.getMetadata(GUARDS_METADATA, UserController)).toBeUndefined();
  });
});
