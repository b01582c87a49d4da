import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';

import { redactUrl } from '../logging/redact';
import { DomainError, ERROR_STATUS } from './domain-error';
import { FrameworkError } from './framework-error';

export const MALFORMED_JSON = 'Malformed JSON in request body';
export const UNSUPPORTED_CONTENT_TYPE = 'Unsupported content type; send JSON (application/json)';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  request_id?: string;
}

/**
 * The one place where errors become HTTP answers. Nest's shape is kept; anything unexpected
 * becomes a plain 500 carrying only the request id, and its details go to the log.
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
    void reply.status(body.statusCode).send(body);
  }

  private toBody(exception: unknown, request: FastifyRequest): ErrorBody {
    if (exception instanceof HttpException) {
      return fromHttpException(exception);
    }
    if (exception instanceof DomainError) {
      const statusCode = ERROR_STATUS[exception.code];
      return { statusCode, error: reason(statusCode), message: exception.message };
    }
    const clientError = fromFrameworkError(exception);
    if (clientError) return clientError;
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({ err: exception, request_id: request.id }, 'Database unavailable');
      return {
        statusCode: 503,
        error: reason(503),
        message: 'The database is unavailable; try again',
      };
    }

    const requestId = request.id === undefined ? undefined : String(request.id);
    const cause = exception instanceof FrameworkError ? exception.cause : exception;
    this.logger.error(
      { err: cause, request_id: requestId, method: request.method, url: redactUrl(request.url) },
      'Unhandled error',
    );
    return {
      statusCode: 500,
      error: reason(500),
      message: 'Internal server error',
      request_id: requestId,
    };
  }
}

function fromHttpException(exception: HttpException): ErrorBody {
  const statusCode = exception.getStatus();
  const payload = exception.getResponse();
  if (typeof payload === 'string')
    return { statusCode, error: reason(statusCode), message: payload };
  const { message, error } = payload as { message?: string | string[]; error?: string };
  return {
    statusCode,
    error: error ?? reason(statusCode),
    message: message ?? exception.message,
  };
}

/** What the app says for the client errors Fastify raises itself; never Fastify's own words. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: UNSUPPORTED_CONTENT_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Request body does not match its Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: MALFORMED_JSON,
  FST_ERR_CTP_INVALID_JSON_BODY: MALFORMED_JSON,
  FST_ERR_BAD_URL: 'Malformed URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL path segment is too long',
};

/**
 * The body for a 4xx error Fastify raised (see FrameworkError); undefined for anything else,
 * including a 5xx from the framework, which is a fault of ours and answered as any other 500.
 */
export function fromFrameworkError(exception: unknown): ErrorBody | undefined {
  if (!(exception instanceof FrameworkError)) return undefined;
  const { statusCode, code } = exception;
  if (statusCode >= 500) return undefined;
  return {
    statusCode,
    error: reason(statusCode),
    message: (code && FRAMEWORK_MESSAGES[code]) ?? reason(statusCode),
  };
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
