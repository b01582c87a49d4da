import { AuthenticatedUser } from '@app/common';
import { AppConfig } from '@app/config';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { Strategy, StrategyOptionsWithoutRequest, VerifyCallback } from 'passport-jwt';

import { AuthService } from './auth.service';
import { bearerToken } from './bearer-token';
import { jwtKey } from './jwt-key';
import { TokenPayload } from './token-payload';

/**
 * This app instance's name for its JWT strategy in passport's registry, which is process-wide:
 * two app instances in one process (the tests) must not verify against each other's database.
 * One unique name per instance, injected into the strategy and the guard (auth.module.ts).
 */
export const JWT_STRATEGY_NAME = Symbol('JWT_STRATEGY_NAME');

/** passport-jwt's strategy under a name of our choosing (`passport.use` reads `strategy.name`). */
class NamedJwtStrategy extends Strategy {
  constructor(name: string, options: StrategyOptionsWithoutRequest, verify: VerifyCallback) {
    super(options, verify);
    this.name = name;
  }
}

/**
 * Verifies the bearer token (the strict header of bearer-token.ts): the signature with the HMAC
 * key, the algorithm pinned, the issuer, audience, expiry and not-before. `validate` then turns the
 * claims into the caller (AuthService.authenticate: not revoked, the current token version, the
 * account not disabled), or refuses them; a database error there propagates.
 */
@Injectable()
export class JwtStrategy
  extends PassportStrategy(NamedJwtStrategy)
  implements OnApplicationShutdown
{
  constructor(
    @Inject(JWT_STRATEGY_NAME) name: string,
    config: AppConfig,
    private readonly auth: AuthService,
  ) {
    const key = jwtKey(config);
    super(name, {
      jwtFromRequest: bearerToken,
      algorithms: [config.auth.jwtAlgorithm],
      issuer: config.auth.jwtIssuer,
      audience: config.auth.jwtAudience,
      // A KeyObject: jsonwebtoken takes it as is (about 50× faster than a string secret), though
      // passport-jwt's types only name strings and Buffers.
      secretOrKeyProvider: (_request, _token, done) => done(null, key as unknown as Buffer),
    });
  }

  async validate(claims: Partial<TokenPayload>): Promise<AuthenticatedUser | null> {
    const wellFormed =
      typeof claims.sub === 'string' &&
      typeof claims.jti === 'string' &&
      typeof claims.exp === 'number';
    return wellFormed ? this.auth.authenticate(claims as TokenPayload) : null;
  }

  /**
   * Leaves the registry once the HTTP server has closed (requests still in flight until then need
   * the strategy), so that a closed app's services are not kept alive by it.
   */
  onApplicationShutdown(): void {
    passport.unuse(this.name);
  }
}
