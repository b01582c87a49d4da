import { loadConfig } from '@app/config';
import { dataSourceOptions, MIGRATIONS } from '@app/database';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
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
