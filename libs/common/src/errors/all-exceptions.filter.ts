import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';

import { DomainError, ERROR_STATUS } from './domain-error';

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
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    const body = this.toBody(exception, request);
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, request: Request & { id?: string }): ErrorBody {
    if (exception instanceof HttpException) {
      return fromHttpException(exception);
    }
    if (exception instanceof DomainError) {
      const statusCode = ERROR_STATUS[exception.code];
      return { statusCode, error: reason(statusCode), message: exception.message };
    }
    const clientError = fromBodyParserError(exception);
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
    this.logger.error(
      { err: exception, request_id: requestId, method: request.method, url: request.url },
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

/** body-parser errors carry an HTTP status and an `expose` flag for client faults. */
function fromBodyParserError(exception: unknown): ErrorBody | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { status, expose, type } = exception as {
    status?: number;
    expose?: boolean;
    type?: string;
  };
  if (!expose || typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const messages: Record<string, string> = {
    'entity.parse.failed': 'Malformed JSON in request body',
    'entity.too.large': 'Request body is too large',
    'encoding.unsupported': 'Unsupported content encoding',
    'charset.unsupported': 'Unsupported charset',
  };
  return {
    statusCode: status,
    error: reason(status),
    message: (type && messages[type]) ?? reason(status),
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

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
