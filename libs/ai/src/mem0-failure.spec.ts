import { ErrorCode } from '@app/common';

import { answerFor } from './mem0.client';
import { describeMem0Failure, Mem0Error } from './mem0-failure';

describe('Mem0 failures', () => {
  const llmError = Object.assign(new Error('extraction failed'), {
    name: 'LLMError',
    cause: { status: 400 },
  });
  const embeddingError = Object.assign(new Error('429 rate limited'), { status: 429 });

  it('reads the status of the HTTP request that failed, on the error or as its cause', () => {
    expect(describeMem0Failure(llmError)).toEqual({
      name: 'LLMError',
      message: 'extraction failed',
      status: 400,
    });
    expect(describeMem0Failure(embeddingError)).toMatchObject({ name: 'Error', status: 429 });
    expect(describeMem0Failure(new Error('disk I/O error')).status).toBeUndefined();
  });

  it('describes anything thrown, and a failure from the search thread as it came', () => {
    expect(describeMem0Failure('boom')).toEqual({ name: 'Error', message: 'boom' });
    expect(describeMem0Failure(null)).toEqual({ name: 'Error', message: 'null' });
    const fromThread = { name: 'LLMError', message: 'x', status: 500 };
    expect(describeMem0Failure(new Mem0Error(fromThread))).toBe(fromThread);
  });

  it('answers a failed model call 502, a failed embedding 502, anything else 503', () => {
    expect(answerFor(describeMem0Failure(llmError))).toMatchObject({
      code: ErrorCode.ModelFailed,
      message: 'The model service failed; try again',
    });
    expect(answerFor(describeMem0Failure(embeddingError))).toMatchObject({
      code: ErrorCode.ModelFailed,
      message: 'The embedding service failed; try again',
    });
    expect(answerFor(describeMem0Failure(new Error('SQLITE_CORRUPT')))).toMatchObject({
      code: ErrorCode.MemoryStoreUnavailable,
      message: 'The memory store is unavailable; try again',
    });
  });
});
