/**
 * An error the HTTP framework (Fastify) raised itself, before or around a route handler: a body
 * over the limit, a bad Content-Length, a URL it cannot decode, a client that hung up mid-body.
 * Nest would turn it into an HttpException carrying Fastify's own message before any exception
 * filter runs; the adapter (see create-app.ts) passes it on as this instead, so that
 * AllExceptionsFilter answers it by its code and status, in the app's words.
 */
export class FrameworkError extends Error {
  constructor(
    /** Fastify's code (`FST_ERR_…`), or a Node.js one (`ECONNRESET`), when there is one. */
    readonly code: string | undefined,
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(`HTTP framework error ${code ?? statusCode}`, options);
    this.name = 'FrameworkError';
  }

  /** An error that carries an HTTP status of its own (Fastify's errors do): wrapped; else as is. */
  static wrap(error: unknown): unknown {
    if (typeof error !== 'object' || error === null || error instanceof FrameworkError)
      return error;
    const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
    if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 599) return error;
    return new FrameworkError(typeof code === 'string' ? code : undefined, statusCode, {
      cause: error,
    });
  }
}
