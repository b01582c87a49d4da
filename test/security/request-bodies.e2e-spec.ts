import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import request from 'supertest';

import { BODY_TOO_COMPLEX } from '../../apps/api/src/http/body-limits';
import { TEST_DATABASES } from '../support/databases';
import { bearer, HANG_GUARD_MS, registerUser, TestApp, TestUser } from '../support/test-app';
import { useApp } from '../support/use-app';

const LOGIN = '/api/v1/auth/login';
const REGISTER = '/api/v1/auth/register';
/** Short, so that the slow-drip test is quick; Node checks it once a second. */
const REQUEST_TIMEOUT_MS = 1000;

/** `{"k0":1,"k1":1,…}` with `count` distinct keys. */
function manyKeys(count: number): string {
  return `{${Array.from({ length: count }, (_, i) => `"k${i}":1`).join(',')}}`;
}

/** Sends a JSON text and times the answer, from the first byte sent to the last received. */
async function timedPost(t: TestApp, url: string, text: string) {
  const started = performance.now();
  const res = await t.http().post(url).set('Content-Type', 'application/json').send(text);
  return { res, ms: performance.now() - started };
}

/**
 * Bodies that cost the server too much to read (the limits of apps/api/src/http/body-limits.ts),
 * validation answers that grow with the input, pagination values past what the database takes,
 * and clients that send their request too slowly (HTTP_REQUEST_TIMEOUT_MS).
 */
describe.each(TEST_DATABASES)('request bodies that cost too much, on $name', (db) => {
  const t = useApp(db, { double: true, admin: true, env: { MEMORY_WORKERS_ENABLED: 'false' } });
  let user: TestUser;

  beforeAll(async () => {
    user = await registerUser(t, 'bodies');
  });

  it('stays live while it refuses a 1 MB body of 90,000 keys, and refuses it quickly', async () => {
    const hostile = manyKeys(90_000);
    expect(hostile.length).toBeGreaterThan(950_000);
    let done = false;
    const refusal = timedPost(t, LOGIN, hostile).finally(() => (done = true));
    let slowestProbeMs = 0;
    let probes = 0;
    while (!done || probes === 0) {
      const started = performance.now();
      await t.http().get('/health/live').expect(200);
      slowestProbeMs = Math.max(slowestProbeMs, performance.now() - started);
      probes += 1;
    }
    const { res, ms } = await refusal;
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: BODY_TOO_COMPLEX,
      code: 'BODY_TOO_COMPLEX',
    });
    expect(ms).toBeLessThan(HANG_GUARD_MS);
    expect(slowestProbeMs).toBeLessThan(HANG_GUARD_MS);
  });

  it('answers a body at every limit at once, of almost 1 MiB, quickly', async () => {
    // 99 unknown keys each holding 100 strings: 10,000 values in all, none past a limit.
    const body = Object.fromEntries(
      Array.from({ length: 99 }, (_, i) => [`k${i}`, new Array(100).fill('x'.repeat(98))]),
    );
    const text = JSON.stringify(body);
    expect(text.length).toBeGreaterThan(990_000);
    const { res, ms } = await timedPost(t, LOGIN, text);
    expect(res.status).toBe(400);
    expect(res.body.message).toHaveLength(10);
    expect(res.body.message[0]).toBe('property k0 should not exist');
    expect(ms).toBeLessThan(HANG_GUARD_MS);
  });

  it('answers a 1 MB array with a short 400, and a short array for an object too', async () => {
    const long = `[${new Array(500_000).fill('0').join(',')}]`;
    expect(long.length).toBeGreaterThan(990_000);
    const refused = await timedPost(t, LOGIN, long);
    expect(refused.res.status).toBe(400);
    expect(refused.res.text.length).toBeLessThan(300);
    expect(refused.ms).toBeLessThan(HANG_GUARD_MS);
    const short = JSON.stringify(new Array(1000).fill({ username: 'a', password: 'b' }));
    const { res } = await timedPost(t, REGISTER, short);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['The request body must be a JSON object'],
      code: 'VALIDATION_FAILED',
    });
  });

  it.each([
    ['arrays', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
  ])('answers a body of %s nested 10,000 deep with 400, not 500', async (_kind, text) => {
    for (const url of [LOGIN, REGISTER]) {
      const { res } = await timedPost(t, url, text);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: BODY_TOO_COMPLEX,
        code: 'BODY_TOO_COMPLEX',
      });
    }
  });

  it('lists at most 10 validation messages, each short, never the body', async () => {
    const many = await timedPost(t, REGISTER, manyKeys(99));
    expect(many.res.body.message).toHaveLength(10);
    expect(many.res.body.message.slice(0, 2)).toEqual([
      'property k0 should not exist',
      'property k1 should not exist',
    ]);
    expect(many.res.body.message.at(-1)).toBe('Further validation errors were omitted');

    const longKeys = Object.fromEntries(
      Array.from({ length: 90 }, (_, i) => [`${'k'.repeat(10_000)}${i}`, i]),
    );
    const { res } = await timedPost(
      t,
      REGISTER,
      JSON.stringify({ username: 'longkeys', password: 'x', ...longKeys }),
    );
    expect(res.status).toBe(400);
    expect(res.body.message.length).toBeLessThanOrEqual(10);
    expect(res.body.message.at(-1)).toBe('Further validation errors were omitted');
    for (const message of res.body.message as string[]) expect(message.length).toBeLessThan(201);
    expect(res.text.length).toBeLessThan(3000);
  });

  it('answers offsets and limits past what a list takes with 400 on every list', async () => {
    const adminToken = t.admin.token;
    const doc = (await t.http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    const lists = Object.entries(doc.paths)
      .filter(([, ops]) =>
        ops.get?.parameters?.some((p) => p.in === 'query' && p.name === 'offset'),
      )
      .map(([path]) => path.replace('{user_id}', user.id).replace(/\{\w+\}/g, randomUUID()));
    expect(lists.length).toBeGreaterThanOrEqual(6);
    const token = (url: string) => (url.startsWith('/api/v1/admin/') ? adminToken : user.token);
    for (const url of lists) {
      for (const query of [
        'offset=9223372036854775808',
        'offset=99999999999',
        'offset=2147483648',
        'offset=1e308',
        'limit=9223372036854775808',
        'limit=1e308',
      ]) {
        const res = await t
          .http()
          .get(`${url}?${query}`)
          .set(bearer(token(url)));
        const seen = { url, query, status: res.status };
        expect(seen).toEqual({ ...seen, status: 400 });
        expect(res.body.message).toEqual([expect.stringMatching(/^(offset|limit) /)]);
      }
    }
    const sessions = `/api/v1/chat/${user.id}/sessions`;
    expect(lists).toContain(sessions);
    await t.http().get(`${sessions}?offset=2147483647`).set(bearer(user.token)).expect(200);
  });
});

describe.each(TEST_DATABASES)('a client that sends its request slowly, on $name', (db) => {
  const t = useApp(db, {
    double: true,
    env: {
      MEMORY_WORKERS_ENABLED: 'false',
      CHAT_MEMORY_LIMIT: '0',
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    },
  });
  const { double } = t;
  let port: number;

  beforeAll(async () => {
    const server = t.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  /** Sends the headers, then a byte of the body every 100 ms; resolves when the server hangs up. */
  function drip(head: string): Promise<{ ms: number; answer: string }> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.write(head);
      const dripping = setInterval(() => socket.write(' '), 100);
      const giveUp = setTimeout(() => socket.destroy(new Error('never cut off')), 10_000);
      socket.on('error', reject);
      socket.on('close', () => {
        clearInterval(dripping);
        clearTimeout(giveUp);
        resolve({ ms: performance.now() - started, answer });
      });
    });
  }

  it('closes the connection of a body that drips in, within the timeout and a second', async () => {
    const { ms, answer } = await drip(
      `POST ${LOGIN} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: 100000\r\n\r\n{"username":`,
    );
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
    expect(answer).toMatch(/^(HTTP\/1\.1 408 |$)/);
    if (answer) expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    await t.http().get('/health/live').expect(200);
  });

  it('closes a connection whose headers drip in too', async () => {
    const { ms } = await drip(`GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: `);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
  });

  it('bounds reading the request only: an answer may take longer', async () => {
    const user = await registerUser(t, 'slowturn');
    double.setLatency(REQUEST_TIMEOUT_MS + 1000, 'chat');
    const res = await request(t.app.getHttpServer() as Server)
      .post(`/api/v1/chat/${user.id}`)
      .set(bearer(user.token))
      .send({ message: 'Take your time' })
      .expect(200);
    expect(res.body.response).toEqual(expect.any(String));
  });
});
