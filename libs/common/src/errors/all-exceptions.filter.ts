import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';

import { redactUrl } from '../logging/redact';
import { DomainError } from './domain-error';
import { ErrorCode, ERRORS } from './error-codes';
import { FrameworkError } from './framework-error';
import { isOpenAiRoute } from './openai-routes';

export const MALFORMED_JSON = 'Malformed JSON in request body';
export const UNSUPPORTED_CONTENT_TYPE = 'Unsupported content type; send JSON (application/json)';
export const DATABASE_UNAVAILABLE = 'The database is unavailable; try again';
export const INTERNAL_ERROR = 'Internal server error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code: ErrorCode;
  request_id?: string;
}

/** The answer for `code`: its status (from the one table), the status's reason, the message. */
export function errorBody(code: ErrorCode, message: string | string[]): ErrorBody {
  const statusCode = ERRORS[code].status;
  return { statusCode, error: reason(statusCode), message, code };
}

/** A plain 500 that carries only the request id: no internals. */
export function internalErrorBody(requestId: string | undefined): ErrorBody {
  return { ...errorBody(ErrorCode.Internal, INTERNAL_ERROR), request_id: requestId };
}

/**
 * The one place where errors become HTTP answers, in Nest's shape plus a stable `code`. Anything
 * unexpected becomes a plain 500 carrying only the request id, and its details go to the log.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = this.toBody(exception, request);
    // A streamed answer (SSE) writes on the raw response itself: nothing more can be said there.
    if (reply.sent || reply.raw.headersSent) {
      if (!reply.raw.writableEnded) reply.raw.end();
      return;
    }
    const retryAfter = retryAfterSeconds(exception);
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    const param = exception instanceof DomainError ? exception.param : undefined;
    void reply
      .status(body.statusCode)
      .send(isOpenAiRoute(request.url) ? openAiErrorBody(body, param) : body);
  }

  private toBody(exception: unknown, request: FastifyRequest): ErrorBody {
    if (exception instanceof DomainError) return errorBody(exception.code, exception.message);
    const answered = fromHttpException(exception) ?? fromFrameworkError(exception);
    if (answered) return answered;
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({ err: exception, request_id: request.id }, 'Database unavailable');
      return errorBody(ErrorCode.DatabaseUnavailable, DATABASE_UNAVAILABLE);
    }

    const requestId = request.id === undefined ? undefined : String(request.id);
    const cause = exception instanceof FrameworkError ? exception.cause : exception;
    this.logger.error(
      { err: cause, request_id: requestId, method: request.method, url: redactUrl(request.url) },
      'Unhandled error',
    );
    return internalErrorBody(requestId);
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
}

/**
 * OpenAI's error shape, which its SDKs and the front ends built on them read: the same message
 * and stable `code` as the REST API's answer, with OpenAI's `type` for the status.
 */
export function openAiErrorBody(body: ErrorBody, param?: string): OpenAiErrorBody {
  const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
  return {
    error: {
      message,
      type: openAiErrorType(body.statusCode),
      param: param ?? null,
      code: body.code,
    },
  };
}

function openAiErrorType(status: number): string {
  if (status === 429) return 'requests';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/**
 * The codes of HttpExceptions that carry none: thrown by Nest and the libraries around it (the
 * ValidationPipe, the router's 404, a guard that returns false, a passport guard's 401). Our own
 * code throws DomainErrors instead. Any other status is a fault of ours: a plain 500.
 */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.ValidationFailed,
  401: ErrorCode.TokenInvalid,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  413: ErrorCode.BodyTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
};

function fromHttpException(exception: unknown): ErrorBody | undefined {
  if (!(exception instanceof HttpException)) return undefined;
  const code = HTTP_EXCEPTION_CODES[exception.getStatus()];
  if (code === undefined) return undefined;
  const payload = exception.getResponse();
  if (typeof payload === 'string') return errorBody(code, payload);
  const { message } = payload as { message?: string | string[] };
  return errorBody(code, message ?? exception.message);
}

/** What the app says for the client errors Fastify raises itself; never Fastify's own words. */
const FRAMEWORK_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: ErrorCode.BodyTooLarge,
    message: 'Request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: ErrorCode.UnsupportedMediaType,
    message: UNSUPPORTED_CONTENT_TYPE,
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: ErrorCode.MalformedRequest,
    message: 'Request body does not match its Content-Length',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: ErrorCode.MalformedJson, message: MALFORMED_JSON },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: ErrorCode.MalformedJson, message: MALFORMED_JSON },
  FST_ERR_BAD_URL: { code: ErrorCode.MalformedRequest, message: 'Malformed URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: ErrorCode.UriTooLong, message: 'URL path segment is too long' },
};

/** Fastify's other client errors, by status; any other status is a request we could not read. */
const FRAMEWORK_STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  404: ErrorCode.NotFound,
  413: ErrorCode.BodyTooLarge,
  414: ErrorCode.UriTooLong,
  415: ErrorCode.UnsupportedMediaType,
};

/**
 * The body for a 4xx error Fastify raised (see FrameworkError); undefined for anything else,
 * including a 5xx from the framework, which is a fault of ours and answered as any other 500.
 */
export function fromFrameworkError(exception: unknown): ErrorBody | undefined {
  if (!(exception instanceof FrameworkError)) return undefined;
  const { statusCode, code } = exception;
  if (statusCode >= 500) return undefined;
  const known = code === undefined ? undefined : FRAMEWORK_ERRORS[code];
  if (known) return errorBody(known.code, known.message);
  const fallback = FRAMEWORK_STATUS_CODES[statusCode] ?? ErrorCode.MalformedRequest;
  return errorBody(fallback, reason(ERRORS[fallback].status));
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
]);

/** The database could not be reached or answered "busy": a 503 the client may retry, not a 500. */
function isDatabaseUnavailable(exception: unknown): boolean {
  const candidates = [exception, (exception as { driverError?: unknown })?.driverError];
  return candidates.some((e) => {
    if (typeof e !== 'object' || e === null) return false;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && [...CONNECTION_ERRORS].some((c) => code.startsWith(c)))
      return true;
    return (
      typeof message === 'string' &&
      /database connection is not open|Pool is closed|Connection lost|connect ECONNREFUSED/i.test(
        message,
      )
    );
  });
}

/**
 * Seconds the client should wait before trying again: what a domain error says, else 1 for a
 * database that was unreachable or busy (both pass quickly or not at all).
 */
function retryAfterSeconds(exception: unknown): number | undefined {
  if (exception instanceof DomainError) return exception.retryAfterSeconds;
  if (exception instanceof HttpException || exception instanceof FrameworkError) return undefined;
  return isDatabaseUnavailable(exception) ? 1 : undefined;
}

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
