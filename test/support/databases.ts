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
