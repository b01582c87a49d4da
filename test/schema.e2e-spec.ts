import { loadConfig } from '@app/config';
import { dataSourceOptions, ENTITIES, MIGRATIONS, migrateSchema } from '@app/database';
import { DataSource } from 'typeorm';

import { runCli } from '../apps/api/src/cli';
import { siblingDatabase, TEST_DATABASES } from './support/databases';
import { testEnv } from './support/test-app';

describe.each(TEST_DATABASES)('migrations on $name', (db) => {
  let dataSource: DataSource;

  beforeAll(async () => {
    const config = loadConfig(testEnv(db));
    dataSource = new DataSource({
      ...dataSourceOptions(config.database),
      dropSchema: true,
      migrationsRun: true,
    });
    await dataSource.initialize();
  });
  afterAll(() => dataSource.destroy());

  it('applies every committed migration', async () => {
    const applied = await dataSource.query<{ name: string }[]>('SELECT name FROM migrations');
    expect(applied.map((m) => m.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('leaves no difference between the schema and the entities', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('reverts and re-applies cleanly', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
    await dataSource.runMigrations();
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries).toHaveLength(0);
  });
});

describe.each(TEST_DATABASES)('migrations once across processes on $name', (db) => {
  // One configuration per test: on SQLite each testEnv is a new file.
  let config: ReturnType<typeof loadConfig>;
  beforeEach(() => (config = loadConfig(testEnv(db))));
  const open = (dropSchema = false) =>
    new DataSource({ ...dataSourceOptions(config.database), dropSchema }).initialize();
  let sources: DataSource[] = [];
  afterEach(async () => {
    await Promise.all(sources.map((source) => source.destroy()));
    sources = [];
  });

  it('applies each migration once when several start together on an empty database', async () => {
    sources = [await open(true), await open(), await open(), await open()];
    const [a, b, c, waiting] = sources;
    const results = await Promise.all([
      migrateSchema(a, { mode: 'run', timeoutSeconds: 60 }),
      migrateSchema(b, { mode: 'run', timeoutSeconds: 60 }),
      migrateSchema(c, { mode: 'run', timeoutSeconds: 60 }),
      migrateSchema(waiting, { mode: 'wait', timeoutSeconds: 60, pollMs: 50 }),
    ]);
    expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    const applied = await a.query<{ name: string }[]>('SELECT name FROM migrations');
    expect(applied).toHaveLength(MIGRATIONS.length);
    const schema = await a.driver.createSchemaBuilder().log();
    expect(schema.upQueries).toHaveLength(0);
  });

  it('refuses to start on a schema behind the build when nobody migrates', async () => {
    sources = [await open(true)];
    const started = Date.now();
    await expect(
      migrateSchema(sources[0], { mode: 'wait', timeoutSeconds: 1, pollMs: 100 }),
    ).rejects.toThrow(/schema is behind this build.*migrate/);
    expect(Date.now() - started).toBeLessThan(5000);
    await migrateSchema(sources[0], { mode: 'run', timeoutSeconds: 60 });
    await expect(migrateSchema(sources[0], { mode: 'wait', timeoutSeconds: 1 })).resolves.toEqual(
      [],
    );
  });

  it('the migrate command applies the pending migrations once, then finds none', async () => {
    await (await open(true)).destroy(); // an empty database
    expect(await runCli(['migrate'], config)).toBe(
      `Applied ${MIGRATIONS.length} migration(s): ${MIGRATIONS.map((m) => m.name).join(', ')}`,
    );
    expect(await runCli(['migrate'], config)).toBe('The schema is up to date');
  });
});

describe.each(TEST_DATABASES.filter((db) => db.url))('collation on $name', (db) => {
  it('gives an empty database of another default collation the connection’s, before any table', async () => {
    const other = await siblingDatabase(db, 'collation', 'utf8mb4_general_ci');
    const config = loadConfig(testEnv(other));
    const dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
    try {
      await migrateSchema(dataSource, { mode: 'run', timeoutSeconds: 60 });
      const [{ collation }] = await dataSource.query<{ collation: string }[]>(
        'SELECT @@collation_database AS collation',
      );
      expect(collation).toBe('utf8mb4_unicode_ci');
      const tables = await dataSource.query<{ name: string; collation: string }[]>(
        'SELECT TABLE_NAME AS name, TABLE_COLLATION AS collation FROM information_schema.TABLES ' +
          'WHERE TABLE_SCHEMA = DATABASE()',
      );
      expect(tables.length).toBeGreaterThanOrEqual(ENTITIES.length + 1); // and migrations
      expect(tables.filter((t) => t.collation !== 'utf8mb4_unicode_ci')).toEqual([]);
    } finally {
      await dataSource.destroy();
      await other.drop();
    }
  });
});
