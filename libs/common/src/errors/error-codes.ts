/**
 * The stable `code` of every error answer: what a client branches on (the message is for people
 * and may change). Each code has one HTTP status, in ERRORS below; nothing else decides a status.
 */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  MalformedJson = 'MALFORMED_JSON',
  BodyTooComplex = 'BODY_TOO_COMPLEX',
  MalformedRequest = 'MALFORMED_REQUEST',
  InvalidCredentials = 'INVALID_CREDENTIALS',
  TokenInvalid = 'TOKEN_INVALID',
  AccountGone = 'ACCOUNT_GONE',
  AccountDisabled = 'ACCOUNT_DISABLED',
  AdminRequired = 'ADMIN_REQUIRED',
  NotYourData = 'NOT_YOUR_DATA',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  UserNotFound = 'USER_NOT_FOUND',
  SessionNotFound = 'SESSION_NOT_FOUND',
  MemoryNotFound = 'MEMORY_NOT_FOUND',
  JobNotFound = 'JOB_NOT_FOUND',
  ApiKeyNotFound = 'API_KEY_NOT_FOUND',
  RequestTimeout = 'REQUEST_TIMEOUT',
  UsernameTaken = 'USERNAME_TAKEN',
  UsernameTooSimilar = 'USERNAME_TOO_SIMILAR',
  UsernameReserved = 'USERNAME_RESERVED',
  EmailTaken = 'EMAIL_TAKEN',
  CannotChangeSelf = 'CANNOT_CHANGE_SELF',
  LastAdmin = 'LAST_ADMIN',
  JobNotFailed = 'JOB_NOT_FAILED',
  ApiKeyLimit = 'API_KEY_LIMIT',
  BodyTooLarge = 'BODY_TOO_LARGE',
  UriTooLong = 'URI_TOO_LONG',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited = 'RATE_LIMITED',
  TooManyFailedLogins = 'TOO_MANY_FAILED_LOGINS',
  HeadersTooLarge = 'HEADERS_TOO_LARGE',
  Internal = 'INTERNAL',
  ModelFailed = 'MODEL_FAILED',
  ModelNotConfigured = 'MODEL_NOT_CONFIGURED',
  MemoryStoreUnavailable = 'MEMORY_STORE_UNAVAILABLE',
  DatabaseUnavailable = 'DATABASE_UNAVAILABLE',
  DatabaseBusy = 'DATABASE_BUSY',
  RateLimitUnavailable = 'RATE_LIMIT_UNAVAILABLE',
  ShuttingDown = 'SHUTTING_DOWN',
  ModelTimeout = 'MODEL_TIMEOUT',
  ModelNotFound = 'MODEL_NOT_FOUND',
}

export interface ErrorCodeInfo {
  status: number;
  /** When the code is answered; for the API document and docs/api.md. */
  when: string;
}

/** The one table from a code to its HTTP status. */
export const ERRORS: Record<ErrorCode, ErrorCodeInfo> = {
  [ErrorCode.ValidationFailed]: {
    status: 400,
    when: 'A body field, query or path parameter is invalid or unknown; `message` lists the problems',
  },
  [ErrorCode.MalformedJson]: { status: 400, when: 'The body is not a JSON object or array' },
  [ErrorCode.BodyTooComplex]: {
    status: 400,
    when: 'The JSON body nests too deep or holds too many keys, items or values',
  },
  [ErrorCode.MalformedRequest]: {
    status: 400,
    when: 'The request cannot be read: an undecodable URL, a body that does not match its Content-Length, a request cut short',
  },
  [ErrorCode.InvalidCredentials]: {
    status: 401,
    when: 'Unknown user or wrong password (one answer for both); a wrong password asked again',
  },
  [ErrorCode.TokenInvalid]: {
    status: 401,
    when: 'The bearer token is missing, malformed, expired or revoked, or its account is gone or disabled',
  },
  [ErrorCode.AccountGone]: {
    status: 401,
    when: "The caller's account was deleted or disabled while the request ran",
  },
  [ErrorCode.AccountDisabled]: {
    status: 403,
    when: 'The right password for a disabled account',
  },
  [ErrorCode.AdminRequired]: { status: 403, when: 'The route needs the admin role' },
  [ErrorCode.NotYourData]: { status: 403, when: "`user_id` in the path is not the caller's id" },
  [ErrorCode.Forbidden]: { status: 403, when: 'A guard refused the request' },
  [ErrorCode.NotFound]: { status: 404, when: 'No such route' },
  [ErrorCode.UserNotFound]: { status: 404, when: 'No such user' },
  [ErrorCode.SessionNotFound]: {
    status: 404,
    when: "No such session of the caller's (unknown or someone else's)",
  },
  [ErrorCode.MemoryNotFound]: {
    status: 404,
    when: "No such memory of the caller's (unknown, malformed or someone else's)",
  },
  [ErrorCode.JobNotFound]: { status: 404, when: 'No such memory job' },
  [ErrorCode.ApiKeyNotFound]: {
    status: 404,
    when: "No such API key of this user's (unknown or someone else's)",
  },
  [ErrorCode.RequestTimeout]: {
    status: 408,
    when: 'The request did not arrive in full in time (the connection is closed)',
  },
  [ErrorCode.UsernameTaken]: { status: 409, when: 'The username is already taken' },
  [ErrorCode.UsernameTooSimilar]: {
    status: 409,
    when: 'The username looks like an existing one (case, separators, look-alike characters)',
  },
  [ErrorCode.UsernameReserved]: {
    status: 409,
    when: 'The username is reserved (admin, root, support, …) or looks like one',
  },
  [ErrorCode.EmailTaken]: { status: 409, when: 'The email is already registered' },
  [ErrorCode.CannotChangeSelf]: {
    status: 409,
    when: 'An admin cannot disable, demote or delete themself through the admin API',
  },
  [ErrorCode.LastAdmin]: { status: 409, when: 'The last admin cannot delete their account' },
  [ErrorCode.JobNotFailed]: { status: 409, when: 'Only a failed memory job can be retried' },
  [ErrorCode.ApiKeyLimit]: {
    status: 409,
    when: 'The account holds as many API keys as allowed (`API_KEYS_MAX_PER_USER`); revoke one first',
  },
  [ErrorCode.BodyTooLarge]: { status: 413, when: 'The body is larger than 1 MiB' },
  [ErrorCode.UriTooLong]: { status: 414, when: 'A path segment is longer than 16 KiB' },
  [ErrorCode.UnsupportedMediaType]: {
    status: 415,
    when: 'A body that is not UTF-8 JSON (another content type, charset or content encoding)',
  },
  [ErrorCode.RateLimited]: {
    status: 429,
    when: 'Too many requests of this kind; wait for `Retry-After` seconds',
  },
  [ErrorCode.TooManyFailedLogins]: {
    status: 429,
    when: 'Too many wrong passwords for this account or from this address; wait for `Retry-After` seconds',
  },
  [ErrorCode.HeadersTooLarge]: {
    status: 431,
    when: 'The request headers are too large (the connection is closed)',
  },
  [ErrorCode.Internal]: {
    status: 500,
    when: 'An unexpected error; quote `request_id` when reporting it',
  },
  [ErrorCode.ModelFailed]: {
    status: 502,
    when: 'The model or embedding service failed or could not be reached; the message is kept, try again',
  },
  [ErrorCode.ModelNotConfigured]: {
    status: 503,
    when: 'No model is configured (OPENAI_API_KEY / OPENAI_BASE_URL): chat and memory are off',
  },
  [ErrorCode.MemoryStoreUnavailable]: {
    status: 503,
    when: 'The memory (vector) store cannot be used right now; try again',
  },
  [ErrorCode.DatabaseUnavailable]: {
    status: 503,
    when: 'The database cannot be reached; try again after `Retry-After` seconds',
  },
  [ErrorCode.DatabaseBusy]: {
    status: 503,
    when: 'Concurrent requests kept conflicting in the database; try again after `Retry-After` seconds',
  },
  [ErrorCode.RateLimitUnavailable]: {
    status: 503,
    when: 'The shared rate-limit store (Redis) cannot be reached and this limit fails closed (by default the failed-password budget: login, the password asked to delete an account); try again after `Retry-After` seconds',
  },
  [ErrorCode.ShuttingDown]: {
    status: 503,
    when: 'Readiness only: the server received SIGTERM and is draining; send new work elsewhere',
  },
  [ErrorCode.ModelTimeout]: { status: 504, when: 'The model did not answer in time; try again' },
  [ErrorCode.ModelNotFound]: {
    status: 404,
    when: 'The OpenAI-compatible route was asked for a model this backend does not serve (GET /v1/models lists it)',
  },
};

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
