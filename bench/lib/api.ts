/** A few calls of the public API, for setting a benchmark up (never timed). */
export interface BenchUser {
  id: string;
  username: string;
  password: string;
  token: string;
  sessionId?: string;
}

export const PASSWORD = 'bench-Password-8c1f2e';

export async function call<T>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function login(baseUrl: string, username: string, password = PASSWORD) {
  return call<{ access_token: string; user: { id: string } }>(
    baseUrl,
    'POST',
    '/api/v1/auth/login',
    { username, password },
  );
}

/** Registers and logs in `count` users named `<prefix>-<i>`, with a session each if asked. */
export async function registerUsers(
  baseUrl: string,
  prefix: string,
  count: number,
  options: { session?: boolean } = {},
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i++) {
    const username = `${prefix}-${i}`;
    await call(baseUrl, 'POST', '/api/v1/auth/register', {
      username,
      email: `${username}@bench.example`,
      password: PASSWORD,
    });
    const { access_token, user } = await login(baseUrl, username);
    const bench: BenchUser = { id: user.id, username, password: PASSWORD, token: access_token };
    if (options.session) {
      const session = await call<{ id: string }>(
        baseUrl,
        'POST',
        `/api/v1/chat/${user.id}/sessions`,
        { title: 'bench' },
        access_token,
      );
      bench.sessionId = session.id;
    }
    users.push(bench);
  }
  return users;
}
