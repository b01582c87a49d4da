import { API_KEY_PREFIX } from '@app/common';
import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits: nobody guesses one, so a plain SHA-256 of the key is safe to store. */
export const API_KEY_RANDOM_BYTES = 32;
/** Characters of the random part shown in `prefix`: 48 of the 256 bits, enough to tell keys apart. */
const SHOWN_CHARACTERS = 8;

export interface ApiKeySecret {
  /** The whole key, handed to the client once and never stored. */
  key: string;
  /** `cbk_` and the first characters of the random part, stored and shown in lists. */
  prefix: string;
  /** What is stored to recognise the key (hashApiKey). */
  hash: string;
}

export function newApiKeySecret(): ApiKeySecret {
  const random = randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
  const key = `${API_KEY_PREFIX}${random}`;
  return {
    key,
    prefix: `${API_KEY_PREFIX}${random.slice(0, SHOWN_CHARACTERS)}`,
    hash: hashApiKey(key),
  };
}

/**
 * SHA-256 of the whole key, lower-case hex. No salt and no slow hash: those protect secrets people
 * choose (passwords) from guessing, and a 256-bit random key cannot be guessed; one fast hash keeps
 * the lookup of every request that presents a key to one indexed equality.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
