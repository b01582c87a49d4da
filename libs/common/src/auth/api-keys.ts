/**
 * Personal API keys: what they look like. Issued by apps/api (ApiKeysService), accepted only on
 * routes marked `@Authenticated({ apiKeys: true })` (the OpenAI-compatible `/v1` routes).
 */

/** Every key starts with it, so that the guard, secret scanners and people can tell one apart. */
export const API_KEY_PREFIX = 'cbk_';

/** `cbk_` and 32 random bytes in base64url (43 characters, no padding). */
export const API_KEY_PATTERN = /^cbk_[A-Za-z0-9_-]{43}$/;

/** Metadata key of routes that accept an API key in place of a JWT. */
export const ACCEPTS_API_KEYS_KEY = 'auth:api-keys';
