import type { Role } from '@app/database';

/** The caller, as established from a verified token (or API key) and the current user row. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  email: string;
  role: Role;
  createdAt: Date;
  /**
   * The token's id and expiry, so that logout can revoke exactly this token. For a caller who came
   * with an API key: `key:<key id>` and the key's expiry (or a far date for a key that never
   * expires); such an id is never put on the revoked list (see `apiKeyId`).
   */
  tokenId: string;
  tokenExpiresAt: Date;
  /**
   * The user's token_version the credential was issued under (a token's `ver`, a key's stored
   * version). Set by the guard; work that creates a credential checks it against the locked user
   * row, so that a token revoked while its request runs cannot mint a key that outlives it.
   */
  tokenVersion?: number;
  /** Set when the caller authenticated with an API key (a route marked to accept them) rather than a JWT. */
  apiKeyId?: string;
}
