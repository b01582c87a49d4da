import { DatabaseConfig } from '@app/config';
import { DataSourceOptions } from 'typeorm';

import { useDialectColumnTypes } from './columns';
import { ENTITIES, MIGRATIONS } from './schema';

export function dataSourceOptions(db: DatabaseConfig): DataSourceOptions {
  useDialectColumnTypes(db.kind);
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    // Applied by migrateSchema (schema-migrator.ts) under a lock, never by TypeORM's unlocked run.
    migrationsRun: false,
    migrationsTransactionMode: 'each' as const,
    dropSchema: db.dropSchema,
    synchronize: false,
    logging: false,
  };
  if (db.kind === 'sqlite') {
    return {
      ...common,
      type: 'better-sqlite3',
      database: db.sqlitePath ?? ':memory:',
      enableWAL: db.sqlitePath !== ':memory:',
      prepareDatabase: (handle: { pragma(source: string): unknown }) => {
        handle.pragma(`synchronous = ${db.sqliteSynchronous}`);
      },
      // How long a write waits for another process's lock (a worker process on the same file).
      timeout: db.lockWaitTimeoutSeconds * 1000,
    };
  }
  return {
    ...common,
    type: db.kind,
    // mysql2 only knows the mysql: scheme; the dialect is chosen by `type`.
    url: db.url?.replace(/^mariadb:/, 'mysql:'),
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    extra: { connectionLimit: 10 },
  };
}
