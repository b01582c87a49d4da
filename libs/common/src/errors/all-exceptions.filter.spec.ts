import {
  ArgumentsHost,
  BadRequestException,
  ConflictException,
  ForbiddenException,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { QueryFailedError } from 'typeorm';

import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainError } from './domain-error';
import { ERROR_CODES, ErrorCode, ERRORS } from './error-codes';
import { FrameworkError } from './framework-error';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

function answer(
  exception: unknown,
  url = '/x',
  logger = { error: jest.fn(), warn: jest.fn() },
): Answer {
  const out: Answer = { status: 0, body: {} };
  // A Fastify reply, as far as the filter uses it.
  const response = {
    sent: false,
    raw: { headersSent: false },
    header(name: string, value: string) {
      out.headers = { ...out.headers, [name]: value };
      return this;
    },
    status(code: number) {
      out.status = code;
      return this;
    },
    send(body: Record<string, unknown>) {
      out.body = body;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({
      getRequest: () => ({ id: 'req-1', method: 'GET', url }),
      getResponse: () => response,
    }),
  } as unknown as ArgumentsHost;
  const filter = new AllExceptionsFilter();
  (filter as unknown as { logger: { error: jest.Mock; warn: jest.Mock } }).logger = logger;
  filter.catch(exception, host);
  return out;
}

describe('AllExceptionsFilter', () => {
  it('keeps Nest’s shape for HTTP exceptions, with the code of their status', () => {
    expect(answer(new BadRequestException(['a must be a string']))).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: ['a must be a string'],
        code: 'VALIDATION_FAILED',
      },
    });
    expect(answer(new UnauthorizedException()).body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Unauthorized',
      code: 'TOKEN_INVALID',
    });
    expect(answer(new ForbiddenException('Forbidden resource')).body.code).toBe('FORBIDDEN');
    expect(answer(new NotFoundException('Cannot GET /nope')).body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /nope',
      code: 'NOT_FOUND',
    });
  });

  it('answers an HTTP exception of a status no code stands for as a logged 500', () => {
    const logger = { error: jest.fn(), warn: jest.fn() };
    expect(answer(new ConflictException('taken'), '/x', logger).body).toMatchObject({
      statusCode: 500,
      code: 'INTERNAL',
    });
    expect(logger.error).toHaveBeenCalled();
  });

  it('maps domain error codes to statuses', () => {
    expect(answer(new DomainError(ErrorCode.UsernameTaken, 'taken'))).toEqual({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'taken', code: 'USERNAME_TAKEN' },
    });
    expect(answer(new DomainError(ErrorCode.ModelTimeout, 'slow')).status).toBe(504);
  });

  it('gives every code an error status with a reason phrase', () => {
    for (const code of ERROR_CODES) {
      const { status, when } = ERRORS[code];
      expect({
        code,
        status,
        reason: STATUS_CODES[status] !== undefined,
        when: when.length > 0,
      }).toEqual({ code, status: expect.any(Number), reason: true, when: true });
      expect(status).toBeGreaterThanOrEqual(400);
      expect(answer(new DomainError(code, 'x')).body).toMatchObject({ statusCode: status, code });
    }
  });

  it('logs the URL of an unexpected error without credentials from its query', () => {
    const logger = { error: jest.fn(), warn: jest.fn() };
    answer(new Error('boom'), '/x?access_token=eyJ.secret.sig&limit=1', logger);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ url: '/x?access_token=[Redacted]&limit=1' }),
      'Unhandled error',
    );
  });

  it('turns an unexpected error into a bare 500 with the request id, no internals', () => {
    const { status, body } = answer(
      new QueryFailedError(
        'SELECT secret FROM users',
        [],
        new Error('syntax error near password_hash'),
      ),
    );
    expect(status).toBe(500);
    expect(body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      code: 'INTERNAL',
      request_id: 'req-1',
    });
  });

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }),
    ],
    [
      'a lost MySQL connection',
      new QueryFailedError(
        'SELECT 1',
        [],
        Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' }),
      ),
    ],
    [
      'a closed SQLite database',
      new QueryFailedError('SELECT 1', [], new TypeError('The database connection is not open')),
    ],
    [
      'a busy SQLite database',
      new QueryFailedError(
        'INSERT',
        [],
        Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
      ),
    ],
    [
      'a deadlock that reached the filter without the retry policy',
      new QueryFailedError(
        'UPDATE',
        [],
        Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }),
      ),
    ],
  ])('answers 503 with Retry-After for %s', (_name, error) => {
    expect(answer(error)).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable; try again',
        code: 'DATABASE_UNAVAILABLE',
      },
      headers: { 'Retry-After': '1' },
    });
  });

  it('sends the Retry-After a domain error names (retries that ran out)', () => {
    expect(
      answer(new DomainError(ErrorCode.DatabaseBusy, 'The database is busy; try again', 2)),
    ).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is busy; try again',
        code: 'DATABASE_BUSY',
      },
      headers: { 'Retry-After': '2' },
    });
  });

  /** Errors Fastify raises, as the adapter hands them over (see create-app.ts). */
  const fastifyError = (code: string, statusCode: number, message: string) =>
    FrameworkError.wrap(
      Object.assign(new Error(message), { name: 'FastifyError', code, statusCode }),
    );

  it.each([
    [
      'FST_ERR_CTP_BODY_TOO_LARGE',
      413,
      'Payload Too Large',
      'Request body is too large',
      'BODY_TOO_LARGE',
    ],
    [
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      415,
      'Unsupported Media Type',
      'Unsupported content type; send JSON (application/json)',
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'FST_ERR_CTP_INVALID_JSON_BODY',
      400,
      'Bad Request',
      'Malformed JSON in request body',
      'MALFORMED_JSON',
    ],
    [
      'FST_ERR_CTP_EMPTY_JSON_BODY',
      400,
      'Bad Request',
      'Malformed JSON in request body',
      'MALFORMED_JSON',
    ],
    [
      'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
      400,
      'Bad Request',
      'Request body does not match its Content-Length',
      'MALFORMED_REQUEST',
    ],
    ['FST_ERR_BAD_URL', 400, 'Bad Request', 'Malformed URL', 'MALFORMED_REQUEST'],
    [
      'FST_ERR_MAX_PARAM_LENGTH',
      414,
      'URI Too Long',
      'URL path segment is too long',
      'URI_TOO_LONG',
    ],
    ['FST_ERR_SOMETHING_NEW', 400, 'Bad Request', 'Bad Request', 'MALFORMED_REQUEST'],
    ['FST_ERR_NOT_FOUND', 404, 'Not Found', 'Not Found', 'NOT_FOUND'],
  ])('answers Fastify’s %s in its own words', (fastifyCode, status, error, message, code) => {
    expect(
      answer(fastifyError(fastifyCode, status, `Fastify internals for ${fastifyCode}`)),
    ).toEqual({ status, body: { statusCode: status, error, message, code } });
  });

  it('answers a 5xx from Fastify as a bare 500, and a client gone mid-body as a 400', () => {
    expect(
      answer(fastifyError('FST_ERR_REP_INVALID_PAYLOAD_TYPE', 500, 'Attempted to send payload')),
    ).toEqual({
      status: 500,
      body: {
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal server error',
        code: 'INTERNAL',
        request_id: 'req-1',
      },
    });
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(answer(FrameworkError.wrap(aborted))).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: 'Bad Request',
        code: 'MALFORMED_REQUEST',
      },
    });
  });

  it('wraps only errors that carry an HTTP status', () => {
    const plain = new Error('boom');
    expect(FrameworkError.wrap(plain)).toBe(plain);
    expect(FrameworkError.wrap('text')).toBe('text');
    const wrapped = FrameworkError.wrap(Object.assign(new Error('x'), { statusCode: 413 }));
    expect(wrapped).toBeInstanceOf(FrameworkError);
    expect(FrameworkError.wrap(wrapped)).toBe(wrapped);
  });
});
