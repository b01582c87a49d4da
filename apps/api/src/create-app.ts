import {
  BEARER_AUTH_NAME,
  documentErrors,
  ErrorBody,
  errorBody,
  ErrorCode,
  ErrorResponseDto,
  fromFrameworkError,
  FrameworkError,
  internalErrorBody,
  isOpenAiRoute,
  openAiErrorBody,
  OpenAiErrorResponseDto,
  requestIdOf,
} from '@app/common';
import { AppConfig } from '@app/config';
import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { APP_NAME, APP_VERSION } from './app-info';
import { AppModule } from './app.module';
import { BODY_LIMIT_BYTES } from './http/body-limits';
import { registerBodyParsers } from './http/body-parsers';

/** What Express's `cors` package allowed by default; @fastify/cors would allow GET, HEAD and POST only. */
const CORS_METHODS = 'GET,HEAD,PUT,PATCH,POST,DELETE';
/**
 * How often Node looks for requests past their timeout. Its default, 30 s, would let a client that
 * drips its body hold the connection up to 30 s past HTTP_REQUEST_TIMEOUT_MS.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Builds the application exactly as production runs it; e2e tests use this too, with
 * `logDestination` when they read the logs (stdout otherwise).
 */
export async function createApp(
  config: AppConfig,
  options: { logDestination?: DestinationStream } = {},
): Promise<INestApplication> {
  const adapter = new AppFastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.http.trustProxy,
    genReqId: requestIdOf,
    // Node's own default, as the server had on Express (Fastify's is 72 s).
    keepAliveTimeout: 5_000,
    // Time to receive a whole request, headers and body: then Node answers 408 and closes the
    // connection. Passed to the server's constructor too, which derives its headersTimeout from it.
    requestTimeout: config.http.requestTimeoutMs,
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    routerOptions: {
      // Routing as on Express: a trailing slash and the case of the path's fixed parts do not
      // matter, and a path parameter of any length reaches validation (Fastify: 414 above 100).
      ignoreTrailingSlash: true,
      caseSensitive: false,
      maxParamLength: 16 * 1024,
    },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });
  adapter.setOnRequestHook((request, reply, done) => {
    // The first hook of every request, 404s and CORS preflights included.
    setSecurityHeaders(request, reply);
    done();
  });
  registerBodyParsers(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.logDestination),
    adapter,
    {
      bufferLogs: true,
      bodyParser: false,
    },
  );
  app.useLogger(app.get(Logger));
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins,
      credentials: false,
      methods: CORS_METHODS,
      // As Express's `cors`: an OPTIONS request without Origin is not a 400 of its own.
      strictPreflight: false,
    });
  }
  setUpOpenApi(app);
  app.enableShutdownHooks();
  for (const warning of config.warnings) new NestLogger('Config').warn(warning);
  return app;
}

/**
 * Nest turns every error Fastify hands to the error handler (a body over the limit, a bad
 * Content-Length, a client gone mid-body) into an HttpException with Fastify's own message before
 * any exception filter sees it. Passed as a FrameworkError, it keeps its code, and
 * AllExceptionsFilter answers it in the app's words.
 */
class AppFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(handler: Parameters<FastifyAdapter['setErrorHandler']>[0]) {
    type Handler = (this: FastifyInstance, error: unknown, ...rest: unknown[]) => unknown;
    const nest = handler as Handler;
    return super.setErrorHandler(function (this: FastifyInstance, error, request, reply) {
      return nest.call(this, FrameworkError.wrap(error), request, reply);
    });
  }
}

/**
 * Errors Fastify raises while routing, before any hook or handler runs (a URL it cannot decode):
 * answered here, in the same shape and with the same headers as every other answer.
 */
function answerFrameworkError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  setSecurityHeaders(request, reply);
  const body =
    fromFrameworkError(FrameworkError.wrap(error)) ?? internalErrorBody(String(request.id));
  void reply
    .status(body.statusCode)
    .send(isOpenAiRoute(request.url) ? openAiErrorBody(body) : body);
}

/**
 * Requests Node cannot parse as HTTP, or that arrive too slowly, never reach Fastify's routing:
 * answered on the socket, as Fastify's own handler does, but in the app's shape, then closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const body: ErrorBody =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? errorBody(ErrorCode.RequestTimeout, 'The request did not arrive in time')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? errorBody(ErrorCode.HeadersTooLarge, 'Request headers are too large')
        : errorBody(ErrorCode.MalformedRequest, 'Malformed HTTP request');
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${body.statusCode} ${body.error}\r\nConnection: close\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
  }
  socket.destroy(error);
}

/**
 * X-Request-Id and helmet's headers, on every answer. They go on the raw response, so that error
 * answers and streamed (hijacked) ones carry them too. The API answers JSON only, so its CSP allows
 * nothing; the Swagger UI under /docs gets helmet's default CSP (its scripts and styles are
 * same-origin, plus inline styles and data: images, which that policy allows), without
 * upgrade-insecure-requests so that it also loads over plain HTTP.
 */
const setSecurityHeaders = ((): ((request: FastifyRequest, reply: FastifyReply) => void) => {
  type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  const forApi: Middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  const forDocs: Middleware = helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  const next = () => undefined;
  return (request, reply) => {
    reply.raw.setHeader('X-Request-Id', request.id);
    (isDocsPath(request.url) ? forDocs : forApi)(request.raw, reply.raw, next);
  };
})();

function isDocsPath(url: string): boolean {
  return /^\/docs(\/|\?|$)/i.test(url);
}

function setUpOpenApi(app: INestApplication): void {
  const built = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(APP_NAME)
      .setDescription(
        'Chatbot backend with persistent per-user memory. Every error answer has the shape ' +
          'ErrorResponseDto; branch on its `code` (ErrorCode lists them all with their status).',
      )
      .setVersion(APP_VERSION)
      .setLicense('MIT', 'https://opensource.org/licenses/MIT')
      .addServer('/', 'The server that serves this document')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_AUTH_NAME)
      .build(),
    { extraModels: [ErrorResponseDto, OpenAiErrorResponseDto] },
  );
  const document = documentErrors(built, BEARER_AUTH_NAME);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
