import { loadConfig } from '@app/config';
import { dataSourceOptions } from '@app/database';
import { createConnection } from 'mysql2/promise';
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

/**
 * Runs the committed migrations on the test database (without dropping anything), one spec file
 * at a time: a server-wide lock keeps two jest workers from creating the same tables.
 */
export async function migrateSqlTestDatabase(url: string): Promise<void> {
  const lock = await createConnection(url.replace(/^mariadb:/, 'mysql:'));
  try {
    await lock.query(`SELECT GET_LOCK('chatbot-unit-migrations', 120)`);
    const config = loadConfig({
      DATABASE_URL: url,
      DATA_DIR: tmpdir(),
      JWT_SECRET: 'k'.repeat(32),
    });
    const dataSource = new DataSource({
      ...dataSourceOptions(config.database),
      migrationsRun: true,
      dropSchema: false,
    });
    await dataSource.initialize();
    await dataSource.destroy();
  } finally {
    await lock.query(`SELECT RELEASE_LOCK('chatbot-unit-migrations')`).catch(() => undefined);
    await lock.end();
  }
}
