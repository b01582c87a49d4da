import { createConnection } from 'mysql2/promise';

/**
 * The databases every e2e suite runs against: SQLite always, and the server named by
 * TEST_DATABASE_URL (mariadb://… or mysql://…) when it is set, as in CI.
 */
export interface TestDatabase {
  name: string;
  /** DATABASE_URL for the app; undefined means SQLite under the test's DATA_DIR. */
  url?: string;
}

export const TEST_DATABASES: TestDatabase[] = [
  { name: 'sqlite' },
  ...(process.env.TEST_DATABASE_URL
    ? [
        {
          name: new URL(process.env.TEST_DATABASE_URL).protocol.slice(0, -1),
          url: process.env.TEST_DATABASE_URL,
        },
      ]
    : []),
];

/** A database of its own on the test server, beside TEST_DATABASE_URL's; dropped by `drop`. */
export interface SiblingDatabase extends TestDatabase {
  drop(): Promise<void>;
}

/**
 * Creates `<test database>_<suffix>` on the server of `db` (a MySQL/MariaDB test database), empty,
 * with the given default collation: for suites that need an empty database or processes of
 * their own, while the other suites keep theirs.
 */
export async function siblingDatabase(
  db: TestDatabase,
  suffix: string,
  collation = 'utf8mb4_unicode_ci',
): Promise<SiblingDatabase> {
  const url = new URL(db.url!);
  const name = `${url.pathname.slice(1)}_${suffix}`;
  const admin = await createConnection({ uri: `${db.url!.replace(/^mariadb:/, 'mysql:')}` });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE ${collation}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return {
    name: db.name,
    url: url.toString(),
    drop: async () => {
      const conn = await createConnection({ uri: `${db.url!.replace(/^mariadb:/, 'mysql:')}` });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}
