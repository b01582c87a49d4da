import type { AppConfig } from '@app/config';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';

import { redactByName, redactUrl } from './redact';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const ids = new WeakMap<IncomingMessage, string>();

/**
 * The request's id: the client's X-Request-Id when sane, else a new UUID. One per request, so that
 * Fastify (request.id, the X-Request-Id answer header, error bodies) and the logs share it.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    const given = req.headers['x-request-id'];
    id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    ids.set(req, id);
  }
  return id;
}

/**
 * pino-http settings: JSON logs, with the request id (see requestIdOf) on every line of a request,
 * and no credential in them. Written to stdout, or to `destination` (tests read their app's logs).
 */
export function loggerParams(config: AppConfig, destination?: DestinationStream): Params {
  const options: Options = {
    level: config.log.level,
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    customProps: (req: IncomingMessage & { id?: unknown }) => ({ request_id: req.id }),
    serializers: { req: withoutCredentials },
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    // Under Fastify, a middleware's req.url is cut to what follows its route; originalUrl is whole.
    autoLogging: {
      ignore: (req: IncomingMessage & { originalUrl?: string }) =>
        (req.originalUrl ?? req.url)?.startsWith('/health') ?? false,
    },
  };
  return { pinoHttp: destination ? [options, destination] : options };
}

/**
 * The logged request (pino's serialised form) with credential-named headers and query values
 * replaced: a token sent as ?access_token= or in X-Api-Key is refused, and must not be kept here.
 */
function withoutCredentials(req: {
  url?: string;
  query?: unknown;
  headers?: IncomingHttpHeaders;
}): unknown {
  if (typeof req.url === 'string') req.url = redactUrl(req.url);
  if (req.headers) req.headers = redactByName(req.headers);
  if (req.query && typeof req.query === 'object') {
    req.query = redactByName(req.query as Record<string, unknown>);
  }
  return req;
}
