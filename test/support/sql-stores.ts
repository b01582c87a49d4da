import { loadConfig } from '@app/config';
import { dataSourceOptions, migrateSchema } from '@app/database';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { DataSource } from 'typeorm';

/**
 * For the unit specs of Mem0's SQL stores: the MySQL/MariaDB test database (TEST_DATABASE_URL,
 * as in CI) or undefined, and its tables. Unit spec files run in parallel on it, so each spec
 * keeps to collections, memory ids and scopes of its own.
 */
export const SQL_TEST_URL = /^(mysql|mariadb):/.test(process.env.TEST_DATABASE_URL ?? '')
  ? process.env.TEST_DATABASE_URL
  : undefined;

/** A collection name no other test uses. */
export const uniqueCollection = (prefix = 't') => `${prefix}_${randomBytes(6).toString('hex')}`;

/** Runs the committed migrations on the test database (without dropping anything), once. */
export async function migrateSqlTestDatabase(url: string): Promise<void> {
  const config = loadConfig({ DATABASE_URL: url, DATA_DIR: tmpdir(), JWT_SECRET: 'k'.repeat(32) });
  const dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
  try {
    // Under the migration lock: jest workers run spec files in parallel on this database.
    await migrateSchema(dataSource, { mode: 'run', timeoutSeconds: 120 });
  } finally {
    await dataSource.destroy();
  }
}
