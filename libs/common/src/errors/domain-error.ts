import { ErrorCode } from './error-codes';

/**
 * An error with a code (error-codes.ts): services throw these for business rules, and guards,
 * pipes and parsers for what they refuse; one filter answers each with its code's status.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Sent as `Retry-After` (seconds) with the answer: when the client may try again. */
    readonly retryAfterSeconds?: number,
    options?: {
      cause?: unknown;
      /** The request field at fault (OpenAI's `param`, on the OpenAI-compatible routes). */
      param?: string;
    },
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.param = options?.param;
  }

  readonly param?: string;
}
