import { DomainError, ErrorCode } from '@app/common';

/** A 429 RATE_LIMITED; the filter sends `Retry-After` (whole seconds, at least 1) with it. */
export function tooManyRequests(retryAfterSeconds: number, message: string): DomainError {
  return new DomainError(ErrorCode.RateLimited, message, Math.max(1, Math.ceil(retryAfterSeconds)));
}
