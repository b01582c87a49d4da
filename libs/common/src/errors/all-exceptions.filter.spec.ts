import { ArgumentsHost, BadRequestException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainError, ErrorCode } from './domain-error';
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
  it('keeps Nest’s shape for HTTP exceptions', () => {
    expect(answer(new BadRequestException(['a must be a string']))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: ['a must be a string'] },
    });
  });

  it('maps domain error codes to statuses', () => {
    expect(answer(new DomainError(ErrorCode.Conflict, 'taken'))).toEqual({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'taken' },
    });
    expect(answer(new DomainError(ErrorCode.UpstreamTimeout, 'slow')).status).toBe(504);
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
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'Payload Too Large', 'Request body is too large'],
    [
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      415,
      'Unsupported Media Type',
      'Unsupported content type; send JSON (application/json)',
    ],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'Bad Request', 'Malformed JSON in request body'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'Bad Request', 'Malformed JSON in request body'],
    [
      'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
      400,
      'Bad Request',
      'Request body does not match its Content-Length',
    ],
    ['FST_ERR_BAD_URL', 400, 'Bad Request', 'Malformed URL'],
    ['FST_ERR_SOMETHING_NEW', 400, 'Bad Request', 'Bad Request'],
  ])('answers Fastify’s %s in its own words', (code, status, error, message) => {
    expect(answer(fastifyError(code, status, `Fastify internals for ${code}`))).toEqual({
      status,
      body: { statusCode: status, error, message },
    });
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
        request_id: 'req-1',
      },
    });
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(answer(FrameworkError.wrap(aborted))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'Bad Request' },
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
