import { AppConfig } from '@app/config';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Params } from 'nestjs-pino';

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

/** pino-http settings: JSON logs, with the request id (see requestIdOf) on every line of a request. */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.log.level,
      genReqId: (req: IncomingMessage) => requestIdOf(req),
      customProps: (req: IncomingMessage & { id?: unknown }) => ({ request_id: req.id }),
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      // Under Fastify, a middleware's req.url is cut to what follows its route; originalUrl is whole.
      autoLogging: {
        ignore: (req: IncomingMessage & { originalUrl?: string }) =>
          (req.originalUrl ?? req.url)?.startsWith('/health') ?? false,
      },
    },
  };
}
