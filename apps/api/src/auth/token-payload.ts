import type { Role } from '@app/database';

/** Claims we put in an access token; `exp`, `iat`, `jti`, `iss`, `aud` are set by the signer. */
export interface TokenPayload {
  sub: string;
  role: Role;
  jti: string;
  exp: number;
  iat: number;
}
