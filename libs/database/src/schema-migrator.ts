import { createHash } from 'node:crypto';
import { DataSource, Migration, QueryRunner } from 'typeorm';

/** How a process brings the schema up to date at start (DB_MIGRATIONS_RUN). */
export type MigrationMode = 'run' | 'wait';

export interface MigrateOptions {
  mode: MigrationMode;
  /** How long `wait` waits for another process to apply the pending migrations, and `run` for the lock. */
  timeoutSeconds: number;
  /** Between two looks at the schema while waiting. */
  pollMs?: number;
  log?: (message: string) => void;
}

/** One name per database: every replica of every app on it takes the same lock. */
const LOCK_PREFIX = 'memory-chatbot.migrations';

export class SchemaNotReadyError extends Error {}

/**
 * Brings the schema up to date, once however many processes start together.
 *
 * - `run`: on MySQL/MariaDB, under a named server lock (`GET_LOCK`, held by one connection for
 *   the whole run): the first process applies the pending migrations, the others wait for the
 *   lock, then find nothing pending. TypeORM itself takes no lock, and MySQL's DDL is not
 *   transactional, so two unlocked runs would both create the first table and one would fail.
 *   SQLite has no such lock: there a run that collides with another one tries again.
 * - `wait`: applies nothing; waits until no migration is pending (another process, the
 *   `migrate` command or a Kubernetes Job, applies them), then answers. A schema ahead of this
 *   build (a newer replica migrated first) is fine: only this build's migrations are looked at.
 *
 * Returns the names of the migrations this process applied.
 */
export async function migrateSchema(
  dataSource: DataSource,
  options: MigrateOptions,
): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  if (options.mode === 'wait') {
    await waitForSchema(dataSource, options, log);
    return [];
  }
  if (dataSource.options.type === 'better-sqlite3') {
    return names(await runUnlocked(dataSource, options));
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  // Lock names are server-wide and at most 64 characters: one per database, hashed.
  const database = String(dataSource.driver.database);
  const lock = `${LOCK_PREFIX}.${createHash('sha256').update(database).digest('hex').slice(0, 32)}`;
  try {
    const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS got', [
      lock,
      options.timeoutSeconds,
    ])) as { got: number | string | null }[];
    if (Number(row?.got) !== 1) {
      throw new SchemaNotReadyError(
        `Another process held the migration lock for ${options.timeoutSeconds} s; ` +
          'is a migration stuck? (DB_MIGRATIONS_WAIT_SECONDS)',
      );
    }
    try {
      await pinCollation(runner, database, log);
      const applied = names(await dataSource.runMigrations({ transaction: 'each' }));
      if (applied.length > 0) log(`Applied migrations: ${applied.join(', ')}`);
      return applied;
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    await runner.release();
  }
}

/** The collation the connection uses (data-source-options.ts) and the tables are made with. */
const COLLATION = 'utf8mb4_unicode_ci';

/**
 * Migrations create tables in the database's default collation. One other than the connection's
 * (MySQL 8's utf8mb4_0900_ai_ci, a utf8mb4_general_ci server) makes string comparisons between
 * tables and parameters convert, and some indexed lookups and ordered pages fall back to scans
 * and sorts. An empty database gets the right default here; a database that already holds
 * tables is left as it is, with a warning saying how to convert it.
 */
async function pinCollation(
  runner: QueryRunner,
  database: string,
  log: (message: string) => void,
): Promise<void> {
  const [{ collation }] = (await runner.query('SELECT @@collation_database AS collation')) as {
    collation: string;
  }[];
  if (collation === COLLATION) return;
  const [{ tables }] = (await runner.query(
    'SELECT COUNT(*) AS tables FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  )) as { tables: number | string }[];
  const name = `\`${database.replace(/`/g, '``')}\``;
  if (Number(tables) === 0) {
    await runner.query(`ALTER DATABASE ${name} CHARACTER SET utf8mb4 COLLATE ${COLLATION}`);
    log(`Database ${name}: default collation ${collation} changed to ${COLLATION} (it was empty)`);
  } else {
    log(
      `Database ${name} has the default collation ${collation}, not ${COLLATION}: some queries ` +
        'may scan; see docs/operations.md (Running against MySQL) to convert it',
    );
  }
}

/**
 * SQLite has no named lock: a run that collides with another process's (e.g. both create the
 * migrations table) is tried again until nothing is pending or the time is up.
 */
async function runUnlocked(dataSource: DataSource, options: MigrateOptions): Promise<Migration[]> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  for (;;) {
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } catch (error) {
      if (!(await pending(dataSource))) return [];
      if (Date.now() >= deadline) throw error;
      await sleep(options.pollMs ?? 200);
    }
  }
}

async function waitForSchema(
  dataSource: DataSource,
  options: MigrateOptions,
  log: (message: string) => void,
): Promise<void> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let logged = false;
  while (await pending(dataSource)) {
    if (Date.now() >= deadline) {
      throw new SchemaNotReadyError(
        `The database schema is behind this build after ${options.timeoutSeconds} s: run the ` +
          '`migrate` command (or set DB_MIGRATIONS_RUN=true on one process)',
      );
    }
    if (!logged) log('Waiting for the schema: migrations are pending (DB_MIGRATIONS_RUN=false)');
    logged = true;
    await sleep(options.pollMs ?? 1000);
  }
}

/**
 * Whether a migration of this build is not recorded yet, read without writing: TypeORM's own
 * `showMigrations` creates the migrations table when it is missing, which would race with the
 * process that is migrating.
 */
async function pending(dataSource: DataSource): Promise<boolean> {
  const table = dataSource.driver.escape(dataSource.options.migrationsTableName ?? 'migrations');
  let rows: { name: string }[];
  try {
    rows = await dataSource.query<{ name: string }[]>(`SELECT name FROM ${table}`);
  } catch {
    return true; // no migrations table yet
  }
  const applied = new Set(rows.map((row) => row.name));
  return dataSource.migrations.some(
    (migration) => !applied.has(migration.name ?? migration.constructor.name),
  );
}

const names = (migrations: Migration[]) => migrations.map((migration) => migration.name);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
