import { ArgumentsHost, BadRequestException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainError, ErrorCode } from './domain-error';

function answer(exception: unknown): { status: number; body: Record<string, unknown> } {
  const out = { status: 0, body: {} as Record<string, unknown> };
  const response = {
    headersSent: false,
    status(code: number) {
      out.status = code;
      return this;
    },
    json(body: Record<string, unknown>) {
      out.body = body;
    },
  };
  const host = {
    switchToHttp: () => ({
      getRequest: () => ({ id: 'req-1', method: 'GET', url: '/x' }),
      getResponse: () => response,
    }),
  } as unknown as ArgumentsHost;
  const filter = new AllExceptionsFilter();
  (filter as unknown as { logger: { error: jest.Mock; warn: jest.Mock } }).logger = {
    error: jest.fn(),
    warn: jest.fn(),
  };
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
  ])('answers 503 for %s', (_name, error) => {
    expect(answer(error)).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable; try again',
      },
    });
  });
});
