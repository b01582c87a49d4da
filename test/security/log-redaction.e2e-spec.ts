import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';

import { TEST_DATABASES } from '../support/databases';
import { bearer, eventually, registerUser, TestUser } from '../support/test-app';
import { useApp } from '../support/use-app';

const ME = '/api/v1/auth/me';
const FORGED = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged-signature-secret';

/** The app's own log lines, as JSON, read from the destination the test app writes them to. */
class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }

  /** The request's "request completed" line, once pino-http has written it. */
  completed(requestId: string): Promise<RequestLine> {
    const find = () =>
      this.lines
        .map((line) => JSON.parse(line) as Partial<RequestLine>)
        .find((line): line is RequestLine => line.request_id === requestId && !!line.req);
    return eventually(() => Promise.resolve(find()), `the log line of ${requestId}`);
  }
}

interface RequestLine {
  request_id: string;
  req: { url: string; headers: Record<string, unknown> };
}

/** No credential a client sends, in a header or in the query string, is written to the logs. */
describe.each(TEST_DATABASES)('credentials in logs on $name', (db) => {
  const logs = new LogCapture();
  const t = useApp(db, { env: { LOG_LEVEL: 'trace' }, logDestination: logs });
  let user: TestUser;

  beforeAll(async () => {
    user = await registerUser(t, 'logs');
  });

  const leaked = (...secrets: string[]) =>
    logs.lines.filter((line) => secrets.some((secret) => line.includes(secret)));

  it('redacts a token sent in the query string, and still refuses it', async () => {
    const keys = ['access_token', 'token', 'api_key', 'apikey', 'key', 'password', 'secret'];
    for (const [i, key] of [...keys, 'ACCESS_TOKEN'].entries()) {
      for (const [j, token] of [user.token, FORGED].entries()) {
        const requestId = `query-${i}-${j}`;
        await t
          .http()
          .get(`${ME}?${key}=${token}&limit=1`)
          .set('X-Request-Id', requestId)
          .expect(401);
        const line = await logs.completed(requestId);
        expect(line.req.url).toBe(`${ME}?${key}=[Redacted]&limit=1`);
      }
    }
    expect(leaked(user.token, 'forged-signature-secret')).toEqual([]);
  });

  it('never logs a personal API key: made, used as a bearer token, or in the query string', async () => {
    const created = await t
      .http()
      .post('/api/v1/auth/api-keys')
      .set(bearer(user.token))
      .set('X-Request-Id', 'key-created')
      .send({ name: 'logged?' })
      .expect(201);
    const key = created.body.key as string;
    const hash = createHash('sha256').update(key).digest('hex');
    await logs.completed('key-created');
    // Not a token the REST API takes (401), in the header or the query, and never written down.
    await t.http().get(ME).set(bearer(key)).set('X-Request-Id', 'key-header').expect(401);
    const header = await logs.completed('key-header');
    expect(header.req.headers.authorization).toBe('[Redacted]');
    await t.http().get(`${ME}?api_key=${key}`).set('X-Request-Id', 'key-query').expect(401);
    expect((await logs.completed('key-query')).req.url).toBe(`${ME}?api_key=[Redacted]`);
    // Taken on the OpenAI-compatible routes, answered or refused: never written down either.
    await t.http().get('/v1/models').set(bearer(key)).set('X-Request-Id', 'key-v1').expect(200);
    expect((await logs.completed('key-v1')).req.headers.authorization).toBe('[Redacted]');
    const completion = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };
    await t.http().post('/v1/chat/completions').set(bearer(key)).send(completion).expect(503);
    await t
      .http()
      .post('/v1/chat/completions')
      .set(bearer(key))
      .set('X-Request-Id', 'key-v1-refused')
      .send({ ...completion, temperature: 9 })
      .expect(400);
    await logs.completed('key-v1-refused');
    await t.http().get('/api/v1/auth/api-keys').set(bearer(user.token)).expect(200);
    expect(leaked(key, key.slice(4), hash)).toEqual([]);
  });

  it('redacts Proxy-Authorization, X-Api-Key and other credential headers', async () => {
    const headers = {
      'Proxy-Authorization': 'Basic cHJveHktdXNlcjpwcm94eS1zZWNyZXQ=',
      'X-Api-Key': 'sk-api-key-secret-1',
      'X-Auth-Token': 'auth-token-secret-2',
      'X-Upstream-Secret': 'upstream-secret-3',
      Cookie: 'session=cookie-secret-4',
    };
    for (const [requestId, status, auth] of [
      ['headers-ok', 200, bearer(user.token)],
      ['headers-refused', 401, { Authorization: `Bearer ${FORGED}` }],
    ] as const) {
      await t
        .http()
        .get(ME)
        .set({ ...headers, ...auth, 'X-Request-Id': requestId })
        .expect(status);
      const line = await logs.completed(requestId);
      expect(line.req.headers).toMatchObject({
        authorization: '[Redacted]',
        'proxy-authorization': '[Redacted]',
        'x-api-key': '[Redacted]',
        'x-auth-token': '[Redacted]',
        'x-upstream-secret': '[Redacted]',
        cookie: '[Redacted]',
        'x-request-id': requestId,
      });
    }
    expect(
      leaked(user.token, 'forged-signature-secret', 'cHJveHk', ...Object.values(headers)),
    ).toEqual([]);
  });
});
