/**
 * What a failed Mem0 call tells, in one shape whether it failed on this thread or on the search
 * thread (whose errors cross the thread boundary as plain data). Loaded by the search thread too,
 * so it imports nothing through the @app aliases.
 */
export interface Mem0Failure {
  name: string;
  message: string;
  /** The HTTP status of the model or embedding request that failed, when one did. */
  status?: number;
}

/** A failure of the search thread, rebuilt on the main thread. */
export class Mem0Error extends Error {
  constructor(readonly failure: Mem0Failure) {
    super(failure.message);
    this.name = failure.name;
  }
}

/** Mem0 wraps a failed model call in an LLMError that carries the HTTP error as its cause. */
export function describeMem0Failure(error: unknown): Mem0Failure {
  if (error instanceof Mem0Error) return error.failure;
  const failure = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    status?: unknown;
    cause?: { status?: unknown } | null;
  };
  const status = failure.status ?? failure.cause?.status;
  return {
    name: typeof failure.name === 'string' ? failure.name : 'Error',
    message: typeof failure.message === 'string' ? failure.message : String(error),
    status: typeof status === 'number' ? status : undefined,
  };
}
