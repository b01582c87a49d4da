import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { TEST_DATABASES } from '../support/databases';
import { bearer, call, HANG_GUARD_MS, login, registerUser, TestUser } from '../support/test-app';
import { useApp } from '../support/use-app';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface Schema {
  properties?: Record<string, unknown>;
  $ref?: string;
}
interface Operation {
  method: Method;
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodyKeys: string[];
}

const RUNS_PER_OPERATION = 40;
const COSTLY_RUNS_PER_OPERATION = 10;
const BCRYPT_HASH = /\$2[aby]\$\d\d\$/;

/** Numbers past 2^63, past a double, and the smallest ones, as JSON text and query values. */
const HUGE_NUMBERS = [
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551616',
  '99999999999',
  '2147483648',
  '123456789012345678901234567890',
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '1e309',
  '5e-324',
  '1e-400',
  '-0',
];
/** Strings that look like others: Cyrillic and full-width letters, zero-width and bidi characters. */
const LOOK_ALIKES = [
  '\u0430dmin',
  '\uff41\uff44\uff4d\uff49\uff4e',
  'ad\u200bmin',
  '\u202enimda',
  'a\u0301dmin',
  '\ufeffadmin',
  'admin\u00a0',
  '\u0131',
  '\ufb00',
  '\u2126',
];
/** A look-alike of a key: its first letter Cyrillic, full-width, or after a zero-width space. */
const lookAlikeKey = (key: string) =>
  fc
    .constantFrom(
      (k: string) => k.replace(/a/, '\u0430').replace(/e/, '\u0435').replace(/o/, '\u043e'),
      (k: string) => k.replace(/^[a-z]/, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
      (k: string) => `\u200b${k}`,
    )
    .map((f) => f(key));

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '*',
    '..',
    '../../etc/passwd',
    '%00',
    "' OR '1'='1",
    '<script>',
    '__proto__',
    'null',
    '-1',
    '',
  ),
  fc.constant('x'.repeat(5000)),
  fc.constantFrom(...LOOK_ALIKES),
);
const pathSegment = fc.oneof(
  fc.uuid(),
  hostileString.filter((s) => s.length > 0 && s.length < 300),
);
const queryValue = fc.oneof(
  fc.integer(),
  fc.double(),
  hostileString,
  fc.constant(''),
  fc.constantFrom(...HUGE_NUMBERS),
);
/** Odd headers: a garbage or foreign bearer token, odd Accept, request ids, charsets. */
const headers = fc.record(
  {
    Authorization: fc.oneof(
      fc.constant('Bearer '),
      fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
      fc.constant('Bearer a.b.c'),
      // Shaped like a personal API key, or nearly: never one that was made.
      fc.string({ maxLength: 50 }).map((s) => `Bearer cbk_${s}`),
      fc.constant('Basic Zm9vOmJhcg=='),
    ),
    Accept: fc.constantFrom('text/event-stream', '*/*', 'application/xml', 'text/html', ''),
    'X-Request-Id': fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    'Accept-Charset': fc.constantFrom('utf-8', 'latin1', 'x-unknown'),
  },
  { requiredKeys: [] },
);
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);

/** A JSON text too long to print: a counterexample shows its label instead. */
class CostlyBody {
  constructor(
    readonly label: string,
    readonly text: string,
  ) {}

  [fc.toStringMethod](): string {
    return this.label;
  }
}

/**
 * Bodies shaped to cost the server: objects of up to 300 keys, arrays around the item limit
 * (alone or under a key), nesting up to 20,000 deep, numbers JSON.stringify cannot write, and keys
 * that look like the route's own. Built from a few drawn values, so that they cost fast-check
 * nothing to generate or shrink.
 */
function costlyBody(keys: string[]): fc.Arbitrary<CostlyBody> {
  const key = fc.constantFrom(...keys, 'k');
  const wide = fc.tuple(fc.constantFrom(1, 99, 100, 101, 300), key).map(([n, k]) => {
    const entries = Array.from({ length: n }, (_, i) => [`${k}${i}`, i]);
    return new CostlyBody(`${n} keys ${k}0…`, JSON.stringify(Object.fromEntries(entries)));
  });
  const long = fc
    .tuple(fc.constantFrom(999, 1000, 1001, 5000), fc.option(key, { nil: undefined }))
    .map(([n, k]) => {
      const items = `[${new Array(n).fill('"x"').join(',')}]`;
      return k === undefined
        ? new CostlyBody(`an array of ${n} items`, items)
        : new CostlyBody(`${k}: an array of ${n} items`, `{${JSON.stringify(k)}:${items}}`);
    });
  const deep = fc
    .tuple(fc.constantFrom(31, 32, 33, 1000, 10_000, 20_000), fc.boolean(), key)
    .map(([n, arrays, k]) =>
      arrays
        ? new CostlyBody(
            `${k}: arrays ${n} deep`,
            `{${JSON.stringify(k)}:${'['.repeat(n)}1${']'.repeat(n)}}`,
          )
        : new CostlyBody(
            `objects ${n} deep under ${k}`,
            `${`{${JSON.stringify(k)}:`.repeat(n)}1${'}'.repeat(n)}`,
          ),
    );
  const huge = fc
    .tuple(key, fc.constantFrom(...HUGE_NUMBERS))
    .map(([k, n]) => new CostlyBody(`${k}: ${n}`, `{${JSON.stringify(k)}:${n}}`));
  const lookAlikes = fc
    .tuple(fc.constantFrom(...keys, 'username'), fc.constantFrom(...LOOK_ALIKES))
    .chain(([k, v]) =>
      lookAlikeKey(k).map((alike) => {
        const text = JSON.stringify({ [alike]: v, [k]: v });
        return new CostlyBody(text, text);
      }),
    );
  return fc.oneof(wide, long, deep, huge, lookAlikes);
}

/**
 * Property-based requests generated from the OpenAPI document for every route: random, malformed
 * and boundary paths, queries and bodies, with and without a token. The server must never answer
 * 5xx, never crash, and never show a password hash.
 */
describe.each(TEST_DATABASES)('fuzzing every route on $name', (db) => {
  const t = useApp(db, { double: true, admin: true, env: { MEMORY_WORKERS_ENABLED: 'false' } });
  const admin = t.admin;
  let user: TestUser;
  let userKey: string;
  let operations: Operation[];
  let requests = 0;

  beforeAll(async () => {
    user = await registerUser(t, 'fuzzer');
    userKey = (
      await t
        .http()
        .post('/api/v1/auth/api-keys')
        .set(bearer(user.token))
        .send({ name: 'fuzzed' })
        .expect(201)
    ).body.key as string;
    const doc = (await t.http().get('/docs-json').expect(200)).body as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; in: string }[];
            requestBody?: { content?: Record<string, { schema?: Schema }> };
          }
        >
      >;
      components: { schemas: Record<string, Schema> };
    };
    const resolve = (schema?: Schema): Schema | undefined =>
      schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop() as string] : schema;
    operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method as Method,
        path,
        // From the template itself, so that a parameter the document forgot is still filled.
        pathParams: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        bodyKeys: Object.keys(
          resolve(op.requestBody?.content?.['application/json']?.schema)?.properties ?? {},
        ),
      })),
    );
  });
  afterAll(() => {
    console.log(`fuzzing on ${db.name}: ${requests} requests tried`);
  });

  it('generated operations from the document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
  });

  it('never answers 5xx or leaks a hash, whatever the input', async () => {
    for (const op of operations) {
      const body = fc.oneof(
        fc.dictionary(
          fc.constantFrom(...op.bodyKeys, 'role', 'is_admin', '__proto__', 'constructor'),
          value,
          { maxKeys: 5 },
        ),
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('{"unterminated": ', '[1,2', 'not json at all', '', '{"a":1}{"b":2}'),
        costlyBody(op.bodyKeys),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(pathSegment, {
            minLength: op.pathParams.length,
            maxLength: op.pathParams.length,
          }),
          fc.dictionary(fc.constantFrom(...op.queryParams, 'limit', 'offset', 'x'), queryValue, {
            maxKeys: 3,
          }),
          body,
          fc.constantFrom('none', 'token', 'key'),
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
          headers,
          async (segments, query, payload, authenticated, contentType, extraHeaders) => {
            const ownId = (name: string, i: number) =>
              name === 'user_id' && i % 2 === 0 ? user.id : encodeURIComponent(segments[i]);
            const url = op.pathParams.reduce(
              (p, name, i) => p.replace(`{${name}}`, ownId(name, i)),
              op.path,
            );
            let req = call(t, op.method, url).query(query as Record<string, string>);
            // The user's API key: taken on the /v1 routes, a 401 everywhere else.
            if (authenticated !== 'none')
              req = req.set(bearer(authenticated === 'key' ? userKey : user.token));
            req = req.set('Content-Type', contentType).set(extraHeaders);
            const res = await req.send(
              payload instanceof CostlyBody
                ? payload.text
                : typeof payload === 'string'
                  ? payload
                  : JSON.stringify(payload),
            );
            requests += 1;
            const seen = {
              route: `${op.method} ${op.path}`,
              url,
              status: res.status,
              body: res.text.slice(0, 300),
            };
            expect({ ...seen, below500: res.status < 500 }).toEqual({ ...seen, below500: true });
            expect(res.text).not.toMatch(BCRYPT_HASH);
          },
        ),
        { numRuns: RUNS_PER_OPERATION },
      );
    }
    await t.http().get('/health/live').expect(200);
    expect(requests).toBeGreaterThanOrEqual(operations.length * RUNS_PER_OPERATION);
  });

  describe('past the guards, to validation', () => {
    /** The caller's own resources, with a token the route's guard lets through. */
    const ownUrl = (op: Operation) =>
      op.pathParams.reduce(
        (p, name) => p.replace(`{${name}}`, name === 'user_id' ? user.id : randomUUID()),
        op.path,
      );
    let userToken: string;
    const tokenFor = (op: Operation) =>
      op.path.startsWith('/api/v1/admin/')
        ? admin.token
        : op.path.startsWith('/v1/')
          ? userKey
          : userToken;
    beforeAll(async () => {
      // A fresh token: the fuzzing above may have logged the last one out.
      userToken = await login(t, user.username, user.password);
      await t.http().get('/api/v1/auth/me').set(bearer(userToken)).expect(200);
    });

    it('answers costly bodies on every route that reads one quickly and briefly, never 5xx', async () => {
      const reading = operations.filter((op) => op.bodyKeys.length > 0);
      expect(reading.length).toBeGreaterThanOrEqual(8);
      for (const op of reading) {
        const url = ownUrl(op);
        await fc.assert(
          fc.asyncProperty(costlyBody(op.bodyKeys), async ({ text }) => {
            const started = performance.now();
            const res = await call(t, op.method, url)
              .set(bearer(tokenFor(op)))
              .set('Content-Type', 'application/json')
              .send(text);
            const ms = performance.now() - started;
            requests += 1;
            const seen = { route: `${op.method} ${op.path}`, status: res.status, ms };
            const bounded = { below500: res.status < 500, short: res.text.length < 4096 };
            expect({ ...seen, ...bounded }).toEqual({ ...seen, below500: true, short: true });
            expect(ms).toBeLessThan(HANG_GUARD_MS);
          }),
          { numRuns: COSTLY_RUNS_PER_OPERATION },
        );
      }
    });

    it('answers every huge number in every query parameter of every route, never 5xx', async () => {
      // Few enough to try them all: a sample would mostly hit another parameter's 400 first.
      const reading = operations.filter((op) => op.method === 'get' && op.queryParams.length > 0);
      expect(reading.length).toBeGreaterThanOrEqual(6);
      for (const op of reading) {
        const url = ownUrl(op);
        const tried = op.queryParams.flatMap((name) =>
          HUGE_NUMBERS.map(async (value) => {
            const res = await call(t, 'get', url)
              .query({ [name]: value })
              .set(bearer(tokenFor(op)));
            return { route: `get ${op.path}`, name, value, status: res.status };
          }),
        );
        for (const seen of await Promise.all(tried)) {
          requests += 1;
          expect({ ...seen, below500: seen.status < 500 }).toEqual({ ...seen, below500: true });
        }
      }
    });
  });
});
