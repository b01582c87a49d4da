import { ERROR_CODES } from '@app/common';
import { Logger } from '@nestjs/common';
import type { SchemaObjectFactory as Factory } from '@nestjs/swagger/dist/services/schema-object-factory';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { TEST_DATABASES } from './support/databases';
import { startApp, testEnv, TestApp } from './support/test-app';

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: string[];
  allOf?: Schema[];
}
interface Response {
  description?: string;
  content?: Record<string, { schema?: Schema }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, Response>;
}
interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const ROOT = join(__dirname, '..');
/** The operations that answer no 4xx at all: bodiless GETs open to anyone. */
const WITHOUT_4XX = [
  'get /',
  'get /api/v1/health',
  'get /health',
  'get /health/live',
  'get /health/ready',
];
const PUBLIC = [...WITHOUT_4XX, 'post /api/v1/auth/login', 'post /api/v1/auth/register'];
const ERROR_RESPONSE = '#/components/schemas/ErrorResponseDto';
const OPENAI_ERROR_RESPONSE = '#/components/schemas/OpenAiErrorResponseDto';

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer: string }[];
}

/**
 * `redocly lint` (the recommended rules, see redocly.yaml) on the document, offline: telemetry
 * and the update check are off.
 */
function redoclyLint(document: unknown): { problems: LintProblem[]; status: number | null } {
  const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  const cli = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
  const run = spawnSync(
    process.execPath,
    [cli, 'lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'json', file],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        REDOCLY_SUPPRESS_NOTIFICATIONS: 'true',
      },
    },
  );
  if (!run.stdout) throw new Error(`redocly did not answer: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as { problems: LintProblem[] }), status: run.status };
}

function operations(doc: OpenApiDocument): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, Operation] => [`${method} ${path}`, op]),
  );
}

/**
 * The API document as clients get it from /docs-json. It does not depend on the database, so
 * it is read from one app on SQLite.
 */
describe('the OpenAPI document', () => {
  const [sqlite] = TEST_DATABASES;
  /** Every class Swagger turned into a schema, by the schema's name. */
  const classesByName = new Map<string, Set<unknown>>();
  let duplicateWarnings: string[];
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    // Not exported by the package: loaded by its path, the same module Swagger uses.
    const { SchemaObjectFactory } = (await import(
      join(dirname(require.resolve('@nestjs/swagger')), 'services/schema-object-factory')
    )) as { SchemaObjectFactory: typeof Factory };
    const factory = SchemaObjectFactory.prototype;
    const schemaMetadata = factory.getSchemaMetadata.bind(factory);
    const spy = jest
      .spyOn(SchemaObjectFactory.prototype, 'getSchemaMetadata')
      .mockImplementation((type) => {
        const metadata = schemaMetadata(type);
        const classes = classesByName.get(metadata.schemaName) ?? new Set();
        classesByName.set(metadata.schemaName, classes.add(type));
        return metadata;
      });
    const warn = jest.spyOn(Logger, 'warn');
    try {
      t = await startApp(testEnv(sqlite));
    } finally {
      spy.mockRestore();
      duplicateWarnings = warn.mock.calls.map(([message]) => String(message));
      warn.mockRestore();
    }
    doc = (await t.http().get('/docs-json').expect(200)).body as OpenApiDocument;
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives every schema its own class: no two DTOs share a name', () => {
    expect(classesByName.size).toBeGreaterThan(20);
    const shared = [...classesByName].filter(([, classes]) => classes.size > 1).map(([n]) => n);
    expect(shared).toEqual([]);
    expect(duplicateWarnings.filter((m) => /Duplicate DTO/i.test(m))).toEqual([]);
  });

  it('documents the admin and the user views of memory jobs apart', () => {
    const { schemas } = doc.components;
    const jobsOf = (path: string) => {
      const content = doc.paths[path].get.responses['200'].content as {
        'application/json': { schema: Schema };
      };
      const envelope = schemas[content['application/json'].schema.$ref?.split('/').pop() ?? ''];
      return envelope.properties?.items.items?.$ref?.split('/').pop();
    };
    expect(jobsOf('/api/v1/admin/memory-jobs')).toBe('AdminMemoryJobDto');
    expect(jobsOf('/api/v1/memories/jobs')).toBe('MemoryJobDto');
    expect(Object.keys(schemas.AdminMemoryJobDto.properties ?? {})).toContain('user_id');
    expect(Object.keys(schemas.MemoryJobDto.properties ?? {})).not.toContain('user_id');
  });

  it('describes every list as the same envelope of its own items', () => {
    const pages = Object.entries(doc.components.schemas).filter(([name]) =>
      name.endsWith('PageDto'),
    );
    expect(pages.map(([name]) => name).sort()).toEqual([
      'AdminMemoryJobPageDto',
      'AdminSessionPageDto',
      'AdminUserPageDto',
      'MemoryPageDto',
      'MessagePageDto',
      'SessionPageDto',
    ]);
    for (const [name, schema] of pages) {
      expect({ name, keys: Object.keys(schema.properties ?? {}).sort() }).toEqual({
        name,
        keys: ['items', 'limit', 'offset', 'total'],
      });
      const item = schema.properties?.items.items?.$ref?.split('/').pop();
      expect(`${item?.replace(/Dto$/, '')}PageDto`).toBe(name);
    }
  });

  it('passes redocly lint with the recommended rules, warning only of operations with no 4xx', () => {
    const { problems, status } = redoclyLint(doc);
    const seen = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}`);
    expect(seen.filter((p) => p.startsWith('error'))).toEqual([]);
    expect(status).toBe(0);
    const pointer = (key: string) => {
      const [method, path] = key.split(' ');
      return `#/paths/${path.replace(/\//g, '~1')}/${method}/responses`;
    };
    expect(seen.sort()).toEqual(
      WITHOUT_4XX.map((key) => `warn operation-4xx-response ${pointer(key)}`).sort(),
    );
  });

  it('names and summarises every operation, and says which need no token', () => {
    const all = operations(doc);
    expect(all.length).toBeGreaterThanOrEqual(30);
    const ids = all.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [key, op] of all) {
      const summary = {
        key,
        id: /^[a-z][A-Za-z]+$/.test(op.operationId ?? ''),
        summary: !!op.summary,
      };
      expect(summary).toEqual({ key, id: true, summary: true });
    }
    const open = all.filter(([, op]) => op.security?.length === 0).map(([key]) => key);
    expect(open.sort()).toEqual([...PUBLIC].sort());
    for (const [key, op] of all.filter(([k]) => !PUBLIC.includes(k))) {
      expect({ key, security: op.security }).toEqual({ key, security: [{ bearer: [] }] });
    }
    expect(doc.servers?.length).toBeGreaterThan(0);
  });

  it('documents every error answer with the error schema and the codes it can carry', () => {
    expect(doc.components.schemas.ErrorCode.enum).toEqual([...ERROR_CODES]);
    for (const [key, op] of operations(doc)) {
      const statuses = Object.keys(op.responses).map(Number);
      expect({ key, success: statuses.some((s) => s >= 200 && s < 300) }).toEqual({
        key,
        success: true,
      });
      expect({ key, internal: statuses.includes(500) }).toEqual({ key, internal: true });
      for (const [status, response] of Object.entries(op.responses)) {
        expect({ key, status, description: !!response.description }).toEqual({
          key,
          status,
          description: true,
        });
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema;
        // The health probes answer 503 with Terminus's report, which carries a code too.
        // The OpenAI-compatible routes (`/v1/...`) answer OpenAI's shape, the code in `error`.
        const openAi = key.split(' ')[1].startsWith('/v1/');
        const extra = schema?.allOf?.[1]?.properties;
        const codes =
          (openAi ? extra?.error?.properties?.code?.enum : extra?.code?.enum) ??
          schema?.properties?.code?.enum;
        const ok = {
          errorSchema:
            schema?.allOf?.[0]?.$ref === (openAi ? OPENAI_ERROR_RESPONSE : ERROR_RESPONSE) ||
            key.startsWith('get /health'),
          codes: (codes ?? []).length > 0 && codes?.every((c) => ERROR_CODES.includes(c as never)),
        };
        expect({ key, status, ...ok }).toEqual({ key, status, errorSchema: true, codes: true });
      }
    }
  });

  it('lists the codes where the rules are: register tells a taken username from a taken email', () => {
    const conflict = doc.paths['/api/v1/auth/register'].post.responses['409'];
    expect(
      conflict.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code.enum,
    ).toEqual(['USERNAME_TAKEN', 'USERNAME_TOO_SIMILAR', 'USERNAME_RESERVED', 'EMAIL_TAKEN']);
    const unauthorized = doc.paths['/api/v1/chat/{user_id}'].post.responses['401'];
    expect(
      unauthorized.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code.enum,
    ).toEqual(['TOKEN_INVALID', 'ACCOUNT_GONE']);
    const forbidden = doc.paths['/api/v1/admin/users'].get.responses['403'];
    expect(forbidden.description).toContain('ADMIN_REQUIRED');
  });

  it('documents the API key routes with their codes, and the key only in the creation answer', () => {
    const codes = (key: string, status: string) => {
      const [method, path] = key.split(' ');
      const schema =
        doc.paths[path][method].responses[status]?.content?.['application/json']?.schema;
      return schema?.allOf?.[1]?.properties?.code.enum;
    };
    expect(codes('post /api/v1/auth/api-keys', '409')).toEqual(['API_KEY_LIMIT']);
    expect(codes('post /api/v1/auth/api-keys', '401')).toEqual(['TOKEN_INVALID', 'ACCOUNT_GONE']);
    expect(codes('delete /api/v1/auth/api-keys/{key_id}', '404')).toEqual(['API_KEY_NOT_FOUND']);
    expect(codes('delete /api/v1/auth/api-keys/{key_id}', '400')).toEqual(['VALIDATION_FAILED']);
    expect(codes('get /api/v1/admin/users/{user_id}/api-keys', '404')).toEqual(['USER_NOT_FOUND']);
    expect(codes('delete /api/v1/admin/users/{user_id}/api-keys/{key_id}', '404')).toEqual([
      'API_KEY_NOT_FOUND',
    ]);
    const { schemas } = doc.components;
    expect(Object.keys(schemas.CreatedApiKeyDto.properties ?? {})).toContain('key');
    for (const name of ['ApiKeyDto', 'ApiKeyListDto', 'AccountExportDto']) {
      expect(`${name}: ${JSON.stringify(schemas[name])}`).not.toMatch(/"key"|key_hash/);
    }
  });
});
