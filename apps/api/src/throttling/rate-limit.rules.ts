import type { AuthenticatedUser } from '@app/common';
import type { LimitsConfig } from '@app/config';
import type { ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The request-counting rules a route can opt into with `@RateLimit(rule)`. */
export const RATE_LIMIT_RULES = ['register', 'chat'] as const;
export type RateLimitRule = (typeof RATE_LIMIT_RULES)[number];

/**
 * The throttler's configuration. Each rule is a named throttler; a route applies only the one it
 * names. Trackers: the client address (the request's `ip`, IPv6 grouped by /64) unless a rule says otherwise.
 */
export function rateLimitOptions(limits: LimitsConfig): ThrottlerModuleOptions {
  const rules: Record<RateLimitRule, ThrottlerOptions> = {
    register: rule('register', HOUR_MS, limits.throttleRegisterPerHour),
    chat: {
      ...rule('chat', MINUTE_MS, limits.throttleChatPerMinute),
      // The global JWT guard runs first, so this is the verified caller, never a client's claim.
      getTracker: (req) => `user:${(req as { user: AuthenticatedUser }).user.id}`,
    },
  };
  return { throttlers: RATE_LIMIT_RULES.map((name) => rules[name]), setHeaders: false };
}

/** A limit of 0 switches the rule off. Blocked for one window once the budget is spent. */
function rule(name: RateLimitRule, ttl: number, limit: number): ThrottlerOptions {
  return { name, ttl, limit, blockDuration: ttl, skipIf: () => limit === 0 };
}
