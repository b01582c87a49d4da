import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

import { tooManyRequests } from './too-many-requests';

export const TOO_MANY_REQUESTS = 'Too many requests; try again later';

/**
 * The throttler's own guard; only the answer differs: a plain `Retry-After` header (the library
 * would name it `Retry-After-<rule>` for a named rule) and Nest's error shape.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    return Promise.reject(tooManyRequests(detail.timeToBlockExpire, TOO_MANY_REQUESTS));
  }
}
