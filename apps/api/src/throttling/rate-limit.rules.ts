import type { AuthenticatedUser } from '@app/common';
import type { LimitsConfig } from '@app/config';
import type { ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';
import { createHash } from 'node:crypto';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The request-counting rules a route can opt into with `@RateLimit(rule)`. */
export const RATE_LIMIT_RULES = ['register', 'login', 'chat', 'memory', 'sessions'] as const;
export type RateLimitRule = (typeof RATE_LIMIT_RULES)[number];

/**
 * The throttler's configuration. Each rule is a named throttler; a route applies only the one it
 * names. Trackers: the client address (the request's `ip`, IPv6 grouped by /64) unless a rule says otherwise.
 */
export function rateLimitOptions(limits: LimitsConfig): ThrottlerModuleOptions {
  const rules: Record<RateLimitRule, ThrottlerOptions> = {
    register: rule('register', HOUR_MS, limits.throttleRegisterPerHour),
    login: rule('login', HOUR_MS, limits.throttleLoginPerHour),
    chat: perUser(rule('chat', MINUTE_MS, limits.throttleChatPerMinute)),
    memory: perUser(rule('memory', MINUTE_MS, limits.throttleMemoryPerMinute)),
    sessions: perUser(rule('sessions', HOUR_MS, limits.throttleSessionsPerHour)),
  };
  return { throttlers: RATE_LIMIT_RULES.map((name) => rules[name]), setHeaders: false };
}

/** Counted per caller. The global JWT guard runs first: the verified user, never a client's claim. */
function perUser(options: ThrottlerOptions): ThrottlerOptions {
  return {
    ...options,
    getTracker: (req) => `user:${(req as { user: AuthenticatedUser }).user.id}`,
  };
}

/**
 * A limit of 0 switches the rule off. Blocked for one window once the budget is spent. One budget
 * per rule and tracker, shared by every route that applies the rule (the library's default key
 * would give each route its own); hashed, so the store holds no addresses or ids.
 */
function rule(name: RateLimitRule, ttl: number, limit: number): ThrottlerOptions {
  return {
    name,
    ttl,
    limit,
    blockDuration: ttl,
    skipIf: () => limit === 0,
    generateKey: (_context, tracker, throttler) =>
      createHash('sha256').update(`${throttler}\n${tracker}`).digest('hex'),
  };
}
