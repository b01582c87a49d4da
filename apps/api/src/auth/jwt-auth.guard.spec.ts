import { Authenticated, AuthenticatedUser, DomainError, ErrorCode, Public } from '@app/common';
import { AppConfig, loadConfig } from '@app/config';
import { Controller, ExecutionContext, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';

import { ApiKeysService } from '../api-keys/api-keys.service';
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

  @Authenticated({ apiKeys: true })
  @Get('keyed')
  keyed(): void {}
}

/** Keys accepted by the whole controller, except where a method says otherwise. */
@Authenticated({ apiKeys: true })
@Controller()
class KeyedController {
  @Get('v1')
  keyed(): void {}

  @Authenticated()
  @Get('tokens-only')
  closed(): void {}
}

const API_KEY = `cbk_${'A'.repeat(43)}`;

const caller: AuthenticatedUser = {
  id: '4f1d7a2e-0000-4000-8000-000000000001',
  username: 'alice',
  email: 'alice@example.com',
  role: 'user',
  createdAt: new Date(0),
  tokenId: 'j1',
  tokenExpiresAt: new Date(2_000_000_000 * 1000),
};

const keyCaller: AuthenticatedUser = {
  ...caller,
  tokenId: 'key:9d0e4b1c-0000-4000-8000-000000000002',
  apiKeyId: '9d0e4b1c-0000-4000-8000-000000000002',
};

interface FakeRequest {
  headers: { authorization?: string };
  user?: unknown;
}

function contextOf(
  method: 'closed' | 'open' | 'keyed',
  request: FakeRequest,
  controller: typeof SomeController | typeof KeyedController = SomeController,
): ExecutionContext {
  const handler = (controller.prototype as unknown as Record<string, () => void>)[method];
  return {
    getClass: () => controller,
    getHandler: () => handler,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe('JwtAuthGuard with JwtStrategy', () => {
  let config: AppConfig;
  let auth: { authenticate: jest.Mock };
  let apiKeys: { authenticate: jest.Mock };
  let strategy: JwtStrategy;
  let guard: JwtAuthGuard;
  let jwt: JwtService;

  beforeEach(() => {
    config = loadConfig({ JWT_SECRET: 'k'.repeat(32) });
    auth = { authenticate: jest.fn().mockResolvedValue(caller) };
    apiKeys = { authenticate: jest.fn().mockResolvedValue(keyCaller) };
    const name = `jwt:spec:${Math.random()}`;
    strategy = new JwtStrategy(name, config, auth as unknown as AuthService);
    guard = new JwtAuthGuard(name, new Reflector(), apiKeys as unknown as ApiKeysService);
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

  const authorize = async (
    authorization?: string,
    method: 'closed' | 'keyed' = 'closed',
    controller: typeof SomeController | typeof KeyedController = SomeController,
  ) => {
    const request: FakeRequest = { headers: { authorization } };
    const result = await guard
      .canActivate(contextOf(method, request, controller))
      .catch((e: unknown) => e);
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

  describe('API keys', () => {
    it('on a route that accepts keys, hands a cbk_ token to ApiKeysService, not to passport', async () => {
      const { result, user } = await authorize(`Bearer ${API_KEY}`, 'keyed');
      expect(result).toBe(true);
      expect(user).toBe(keyCaller);
      expect(apiKeys.authenticate).toHaveBeenCalledWith(API_KEY);
      expect(auth.authenticate).not.toHaveBeenCalled();
    });

    it('answers TOKEN_INVALID when ApiKeysService refuses the key', async () => {
      apiKeys.authenticate.mockResolvedValue(null);
      const { result, user } = await authorize(`Bearer ${API_KEY}`, 'keyed');
      expect(result).toBeInstanceOf(DomainError);
      expect(result).toMatchObject({
        code: ErrorCode.TokenInvalid,
        message: 'Invalid or missing access token',
      });
      expect(user).toBeUndefined();
    });

    it('still takes a JWT on a route that accepts keys', async () => {
      const { result, user } = await authorize(`Bearer ${token()}`, 'keyed');
      expect(result).toBe(true);
      expect(user).toBe(caller);
      expect(apiKeys.authenticate).not.toHaveBeenCalled();
    });

    it.each([
      ['an ordinary route', 'closed', SomeController],
      ['a method that overrides its controller with @Authenticated()', 'closed', KeyedController],
    ] as const)('refuses a key on %s without looking it up', async (_name, method, controller) => {
      const { result } = await authorize(`Bearer ${API_KEY}`, method, controller);
      expect(result).toMatchObject({ code: ErrorCode.TokenInvalid });
      expect(apiKeys.authenticate).not.toHaveBeenCalled();
      expect(auth.authenticate).not.toHaveBeenCalled();
    });

    it('takes a key where the controller accepts them', async () => {
      const { result, user } = await authorize(`Bearer ${API_KEY}`, 'keyed', KeyedController);
      expect(result).toBe(true);
      expect(user).toBe(keyCaller);
    });

    it.each([
      ['a loose header', `Bearer  ${API_KEY}`],
      ['another scheme', `Basic ${API_KEY}`],
      ['text after the key', `Bearer ${API_KEY} x`],
    ])('refuses %s without looking the key up', async (_name, header) => {
      const { result } = await authorize(header, 'keyed');
      expect(result).toMatchObject({ code: ErrorCode.TokenInvalid });
      expect(apiKeys.authenticate).not.toHaveBeenCalled();
    });

    it('lets a database error of the key lookup through as it is', async () => {
      const busy = new DomainError(ErrorCode.DatabaseBusy, 'busy');
      apiKeys.authenticate.mockRejectedValue(busy);
      const { result } = await authorize(`Bearer ${API_KEY}`, 'keyed');
      expect(result).toBe(busy);
    });

    it('refuses API keys on admin routes when the route is declared', () => {
      expect(() => Authenticated({ admin: true, apiKeys: true })).toThrow(/not accepted on admin/);
    });
  });

  it('leaves passport’s registry on shutdown', async () => {
    strategy.onApplicationShutdown();
    const { result } = await authorize(`Bearer ${token()}`);
    expect(String(result)).toMatch(/Unknown authentication strategy/);
  });
});
