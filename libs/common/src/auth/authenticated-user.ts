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

/** What a caller came with: a login token, or an API key (see the fields above). */
export type Credential = Pick<
  AuthenticatedUser,
  'tokenId' | 'tokenExpiresAt' | 'tokenVersion' | 'apiKeyId'
>;

/** The caller: the account's identity, from its current row, and the credential it came with. */
export function authenticatedUser(
  user: Pick<AuthenticatedUser, 'id' | 'username' | 'email' | 'role' | 'createdAt'>,
  credential: Credential,
): AuthenticatedUser {
  const { id, username, email, role, createdAt } = user;
  return { id, username, email, role, createdAt, ...credential };
}
