import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';

import { LoginFailuresInterceptor } from './login-failures.interceptor';
import { RateLimitGuard } from './rate-limit.guard';
import { RATE_LIMIT_RULES, RateLimitRule } from './rate-limit.rules';

/** Counts every call of the route against `rule` (see rate-limit.rules.ts); 429 once spent. */
export function RateLimit(rule: RateLimitRule): MethodDecorator {
  const otherRules = RATE_LIMIT_RULES.filter((name) => name !== rule).map((name) => [name, true]);
  return applyDecorators(
    SkipThrottle(Object.fromEntries(otherRules) as Record<string, boolean>),
    UseGuards(RateLimitGuard),
    ApiTooManyRequestsResponse({ description: 'Rate limit reached; see Retry-After (seconds)' }),
  );
}

/** Counts the route's failed logins per username and per client address; 429 once spent. */
export function LimitLoginFailures(): MethodDecorator {
  return applyDecorators(
    UseInterceptors(LoginFailuresInterceptor),
    ApiTooManyRequestsResponse({
      description: 'Too many failed logins; see Retry-After (seconds)',
    }),
  );
}
