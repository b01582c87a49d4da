import fc from 'fast-check';

import { TEST_DATABASES } from '../support/databases';
import { OpenAiTestDouble } from '../support/openai-double';
import {
  bearer,
  call,
  modelEnv,
  registerUser,
  startApp,
  testEnv,
  TestApp,
  TestUser,
} from '../support/test-app';

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
const BCRYPT_HASH = /\$2[aby]\$\d\d\$/;

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
);
const pathSegment = fc.oneof(
  fc.uuid(),
  hostileString.filter((s) => s.length > 0 && s.length < 300),
);
const queryValue = fc.oneof(fc.integer(), fc.double(), hostileString, fc.constant(''));
/** Odd headers: a garbage or foreign bearer token, odd Accept, request ids, charsets. */
const headers = fc.record(
  {
    Authorization: fc.oneof(
      fc.constant('Bearer '),
      fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
      fc.constant('Bearer a.b.c'),
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

/**
 * Property-based requests generated from the OpenAPI document for every route: random, malformed
 * and boundary paths, queries and bodies, with and without a token. The server must never answer
 * 5xx, never crash, and never show a password hash.
 */
describe.each(TEST_DATABASES)('fuzzing every route on $name', (db) => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let t: TestApp;
  let user: TestUser;
  let operations: Operation[];
  let requests = 0;

  beforeAll(async () => {
    await double.start();
    t = await startApp(
      testEnv(db, { ...modelEnv(double.baseURL), MEMORY_WORKERS_ENABLED: 'false' }),
    );
    user = await registerUser(t, 'fuzzer');
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
  afterAll(async () => {
    await t.close();
    await double.stop();
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
          fc.boolean(),
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
            if (authenticated) req = req.set(bearer(user.token));
            req = req.set('Content-Type', contentType).set(extraHeaders);
            const res = await req.send(
              typeof payload === 'string' ? payload : JSON.stringify(payload),
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
});
