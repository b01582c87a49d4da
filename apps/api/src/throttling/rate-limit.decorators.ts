import { ApiErrors, ErrorCode } from '@app/common';
import { applyDecorators, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';

import { RateLimitGuard } from './rate-limit.guard';
import { RATE_LIMIT_RULES, RateLimitRule } from './rate-limit.rules';

/**
 * Counts every call of the route against `rule` (see rate-limit.rules.ts); 429 once spent, 503
 * when the shared store is down and REDIS_FAIL_MODE_LIMITS=closed.
 */
export function RateLimit(rule: RateLimitRule): MethodDecorator {
  const otherRules = RATE_LIMIT_RULES.filter((name) => name !== rule).map((name) => [name, true]);
  return applyDecorators(
    SkipThrottle(Object.fromEntries(otherRules) as Record<string, boolean>),
    UseGuards(RateLimitGuard),
    ApiErrors(ErrorCode.RateLimited, ErrorCode.RateLimitUnavailable),
  );
}
