import { Logger } from '@nestjs/common';
import type { SchemaObjectFactory as Factory } from '@nestjs/swagger/dist/services/schema-object-factory';
import { dirname, join } from 'node:path';

import { TEST_DATABASES } from './support/databases';
import { startApp, testEnv, TestApp } from './support/test-app';

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
  components: { schemas: Record<string, Schema> };
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
});
