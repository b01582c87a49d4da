import type { IncomingHttpHeaders } from 'node:http';
import type { JwtFromRequestFunction } from 'passport-jwt';

/**
 * `Bearer <token>` and nothing else: the scheme in any case (RFC 9110), one space, a token68
 * (RFC 7235; a JWT's characters are a subset), nothing after it. passport-jwt's extractor splits
 * on any whitespace and ignores what follows the token.
 */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** The bearer token of the request, or null when the header is missing or not exactly that. */
export const bearerToken: JwtFromRequestFunction<{ headers: IncomingHttpHeaders }> = (request) => {
  const header = request.headers.authorization;
  return typeof header === 'string' ? (BEARER.exec(header)?.[1] ?? null) : null;
};
