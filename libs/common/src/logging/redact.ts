export const REDACTED = '[Redacted]';

/**
 * Names of request headers and query parameters that carry credentials: Authorization,
 * Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token, ?access_token=, ?token=, ?key=, …
 */
const CREDENTIAL_NAME =
  /auth|token|secret|passw|api[-_]?key|cookie|credential|(^|[^a-z])key($|[^a-z])/i;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** A copy of the headers (or parsed query) with the value of every credential-named key replaced. */
export function redactByName<T extends Record<string, unknown>>(record: T): T {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    copy[name] = isCredentialName(name) ? REDACTED : value;
  }
  return copy as T;
}

/**
 * The URL with the value of every credential-named query parameter replaced; the rest is kept as
 * sent. The API never reads a token from the query string, but clients still send one there.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const end = pair.indexOf('=');
      const name = end < 0 ? pair : pair.slice(0, end);
      return end >= 0 && isCredentialName(decodedName(name)) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, start + 1)}${pairs.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
