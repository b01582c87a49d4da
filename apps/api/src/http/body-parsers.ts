import { DomainError, ErrorCode, MALFORMED_JSON, UNSUPPORTED_CONTENT_TYPE } from '@app/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse as secureJsonParse } from 'secure-json-parse';

import { BODY_LIMIT_BYTES, checkBodyShape } from './body-limits';

export const FORBIDDEN_JSON_KEY =
  'The request body must not use __proto__, or constructor with a prototype, as a key';

/**
 * The request bodies the API reads, replacing Fastify's defaults (which also take text/plain and
 * any JSON value):
 * - `application/json`, parsed as Express's strict JSON parser did: an empty body is `{}`, the top
 *   level must be an object or an array (`null`, a number or a string is a 400), UTF-8 only (415
 *   for another charset), no Content-Encoding (415); keys that could poison a prototype
 *   (`__proto__`, `constructor.prototype`) are a 400 of their own, and so is a body past the
 *   limits of body-limits.ts, checked before anything else walks it.
 * - anything else: an empty body is no body, as before; a non-empty one is a 415.
 * Errors are DomainErrors, so the exception filter answers them like any other.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    (request, body, done) => {
      try {
        checkEncoding(request);
        const value = parseStrictJson(body as string);
        checkBodyShape(value);
        done(null, value);
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  fastify.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (_request, body, done) => {
      if ((body as Buffer).length === 0) done(null, undefined);
      else
        done(new DomainError(ErrorCode.UnsupportedMediaType, UNSUPPORTED_CONTENT_TYPE), undefined);
    },
  );
}

function checkEncoding(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity')
    throw new DomainError(ErrorCode.UnsupportedMediaType, 'Unsupported content encoding');
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '');
  if (charset && charset[1].toLowerCase() !== 'utf-8')
    throw new DomainError(ErrorCode.UnsupportedMediaType, 'Unsupported charset; send UTF-8');
}

/** What JSON counts as whitespace, then the first character (body-parser's strict check). */
const FIRST_CHAR = /^[ \t\n\r]*(.)/;

export function parseStrictJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return {};
  const first = FIRST_CHAR.exec(body)?.[1];
  if (first !== '{' && first !== '[')
    throw new DomainError(ErrorCode.MalformedJson, MALFORMED_JSON);
  try {
    return secureJsonParse(body, { protoAction: 'error', constructorAction: 'error' }) as unknown;
  } catch {
    // secure-json-parse throws the same SyntaxError for both: tell them apart.
    try {
      JSON.parse(body);
    } catch {
      throw new DomainError(ErrorCode.MalformedJson, MALFORMED_JSON);
    }
    throw new DomainError(ErrorCode.ValidationFailed, FORBIDDEN_JSON_KEY);
  }
}
