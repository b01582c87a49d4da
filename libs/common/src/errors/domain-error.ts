/** Business-rule failures. Services throw these; one filter maps each code to an HTTP status. */
export enum ErrorCode {
  BadRequest = 'BAD_REQUEST',
  Unauthorized = 'UNAUTHORIZED',
  InvalidCredentials = 'INVALID_CREDENTIALS',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  TooManyRequests = 'TOO_MANY_REQUESTS',
  UpstreamFailed = 'UPSTREAM_FAILED',
  UpstreamTimeout = 'UPSTREAM_TIMEOUT',
  NotConfigured = 'NOT_CONFIGURED',
  Unavailable = 'UNAVAILABLE',
  /** Concurrent requests kept conflicting in the database and its retries ran out. */
  DatabaseBusy = 'DATABASE_BUSY',
}

export const ERROR_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.InvalidCredentials]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.TooManyRequests]: 429,
  [ErrorCode.UpstreamFailed]: 502,
  [ErrorCode.NotConfigured]: 503,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.DatabaseBusy]: 503,
  [ErrorCode.UpstreamTimeout]: 504,
};

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Sent as `Retry-After` (seconds) with the answer: when the client may try again. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}
