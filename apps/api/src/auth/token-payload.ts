import type { Role } from '@app/database';

/** Claims we put in an access token; `exp`, `iat`, `jti`, `iss`, `aud` are set by the signer. */
export interface TokenPayload {
  sub: string;
  role: Role;
  /** The user's token_version at issue; the token is refused once that version moves on. */
  ver?: number;
  jti: string;
  exp: number;
  iat: number;
}
