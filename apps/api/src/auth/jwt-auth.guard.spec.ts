import { AuthenticatedUser, DomainError, ErrorCode, Public } from '@app/common';
import { AppConfig, loadConfig } from '@app/config';
import { Controller, ExecutionContext, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';

import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { jwtKey } from './jwt-key';
import { JwtStrategy } from './jwt.strategy';

@Controller()
class SomeController {
  @Get('private')
  closed(): void {}

  @Public()
  @Get('public')
  open(): void {}
}

const caller: AuthenticatedUser = {
  id: '4f1d7a2e-0000-4000-8000-000000000001',
  username: 'alice',
  email: 'alice@example.com',
  role: 'user',
  createdAt: new Date(0),
  tokenId: 'j1',
  tokenExpiresAt: new Date(2_000_000_000 * 1000),
};

interface FakeRequest {
  headers: { authorization?: string };
  user?: unknown;
}

function contextOf(method: 'closed' | 'open', request: FakeRequest): ExecutionContext {
  return {
    getClass: () => SomeController,
    getHandler: () => SomeController.prototype[method],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe('JwtAuthGuard with JwtStrategy', () => {
  let config: AppConfig;
  let auth: { authenticate: jest.Mock };
  let strategy: JwtStrategy;
  let guard: JwtAuthGuard;
  let jwt: JwtService;

  beforeEach(() => {
    config = loadConfig({ JWT_SECRET: 'k'.repeat(32) });
    auth = { authenticate: jest.fn().mockResolvedValue(caller) };
    const name = `jwt:spec:${Math.random()}`;
    strategy = new JwtStrategy(name, config, auth as unknown as AuthService);
    guard = new JwtAuthGuard(name, new Reflector());
    jwt = new JwtService({
      privateKey: jwtKey(config),
      signOptions: {
        algorithm: config.auth.jwtAlgorithm,
        issuer: config.auth.jwtIssuer,
        audience: config.auth.jwtAudience,
      },
    });
  });
  afterEach(() => strategy.onApplicationShutdown());

  /** A token as AuthService issues it, with `claims` and `options` changed. */
  const token = (claims: object = {}, options: { audience?: string } = {}) =>
    jwt.sign(
      { sub: caller.id, role: 'user', ver: 0, jti: 'j1', exp: 2_000_000_000, ...claims },
      options,
    );

  const authorize = async (authorization?: string) => {
    const request: FakeRequest = { headers: { authorization } };
    const result = await guard.canActivate(contextOf('closed', request)).catch((e: unknown) => e);
    return { result, user: request.user };
  };

  it('lets a public route through without looking at the token', async () => {
    await expect(guard.canActivate(contextOf('open', { headers: {} }))).resolves.toBe(true);
    expect(auth.authenticate).not.toHaveBeenCalled();
  });

  it('hands the verified claims to AuthService and sets request.user to its answer', async () => {
    const { result, user } = await authorize(`Bearer ${token()}`);
    expect(result).toBe(true);
    expect(user).toBe(caller);
    expect(auth.authenticate).toHaveBeenCalledWith(
      expect.objectContaining({ sub: caller.id, jti: 'j1', ver: 0, exp: 2_000_000_000 }),
    );
  });

  it.each([
    ['no header', undefined],
    ['a loose header', `Bearer  ${'x'.repeat(20)}`],
    ['a token that is not a JWT', 'Bearer abc'],
    ['another audience', () => `Bearer ${token({}, { audience: 'someone-else' })}`],
    ['an expired token', () => `Bearer ${token({ exp: 1 })}`],
    ['a token without jti', () => `Bearer ${token({ jti: undefined })}`],
    ['a token whose sub is not a string', () => `Bearer ${token({ sub: 42 })}`],
  ])('answers TOKEN_INVALID for %s, without asking AuthService', async (_name, header) => {
    const { result, user } = await authorize(typeof header === 'function' ? header() : header);
    expect(result).toBeInstanceOf(DomainError);
    expect(result).toMatchObject({
      code: ErrorCode.TokenInvalid,
      message: 'Invalid or missing access token',
    });
    expect(user).toBeUndefined();
    expect(auth.authenticate).not.toHaveBeenCalled();
  });

  it('answers TOKEN_INVALID when AuthService refuses the claims (revoked, disabled...)', async () => {
    auth.authenticate.mockResolvedValue(null);
    const { result } = await authorize(`Bearer ${token()}`);
    expect(result).toMatchObject({ code: ErrorCode.TokenInvalid });
  });

  it('lets a database error through as it is, not as a 401', async () => {
    const busy = new DomainError(ErrorCode.DatabaseBusy, 'busy');
    auth.authenticate.mockRejectedValue(busy);
    const { result } = await authorize(`Bearer ${token()}`);
    expect(result).toBe(busy);
  });

  it('leaves passport’s registry on shutdown', async () => {
    strategy.onApplicationShutdown();
    const { result } = await authorize(`Bearer ${token()}`);
    expect(String(result)).toMatch(/Unknown authentication strategy/);
  });
});
