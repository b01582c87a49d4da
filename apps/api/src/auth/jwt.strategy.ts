import { AuthenticatedUser } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

import { AuthService } from './auth.service';
import { jwtKey } from './jwt-key';
import { TokenPayload } from './token-payload';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(
    config: AppConfig,
    private readonly auth: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt's types say string | Buffer; jsonwebtoken 9 accepts a secret KeyObject.
      secretOrKey: jwtKey(config) as unknown as Buffer,
      algorithms: [config.auth.jwtAlgorithm],
      issuer: config.auth.jwtIssuer,
      audience: config.auth.jwtAudience,
      ignoreExpiration: false,
    });
  }

  validate(payload: Partial<TokenPayload>): Promise<AuthenticatedUser | null> | null {
    if (
      typeof payload.sub !== 'string' ||
      typeof payload.jti !== 'string' ||
      typeof payload.exp !== 'number'
    ) {
      return null;
    }
    return this.auth.authenticate(payload as TokenPayload);
  }
}
