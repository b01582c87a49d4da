import type { Role } from '@app/database';

/** The caller, as established from a verified token and the current user row. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  email: string;
  role: Role;
  createdAt: Date;
  /** The token's id and expiry, so that logout can revoke exactly this token. */
  tokenId: string;
  tokenExpiresAt: Date;
  /** Set when the caller came with a personal API key rather than a login token. */
  apiKeyId?: string;
}
