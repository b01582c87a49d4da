import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const JWT_SECRET_FILE = 'jwt-secret';
export const MIN_PRODUCTION_SECRET_BYTES = 32;

/**
 * Returns the secret kept in `dataDir`, creating it (64 random bytes, hex, mode 0600) on first use.
 * Used only outside production when JWT_SECRET is unset, so that tokens survive a restart.
 */
export function loadOrCreateJwtSecret(dataDir: string): string {
  const file = join(dataDir, JWT_SECRET_FILE);
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= MIN_PRODUCTION_SECRET_BYTES) return existing;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(64).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}
