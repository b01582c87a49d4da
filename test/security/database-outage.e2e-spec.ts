import { DataSource } from 'typeorm';

import { TEST_DATABASES } from '../support/databases';
import { bearer, eventually, registerUser, startApp, testEnv, TestApp } from '../support/test-app';

/**
 * The database going away: requests answer 503 (never 500, never a crash), the probes report it,
 * liveness stays up, and on MySQL/MariaDB the pool reconnects by itself once the server answers.
 */
describe.each(TEST_DATABASES)('database outage on $name', (db) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(testEnv(db));
  });
  afterAll(() => t.close().catch(() => undefined));

  if (db.url) {
    it('answers 503 while connections are being killed, then recovers by itself', async () => {
      const user = await registerUser(t);
      const ds = t.app.get(DataSource);
      const [{ name }] = await ds.query<{ name: string }[]>('SELECT DATABASE() AS name');
      // The server drops every connection of this app (what a restart of MariaDB does to a pool).
      const admin = new DataSource({
        type: 'mariadb',
        url: String(db.url).replace(/^mariadb:/, 'mysql:'),
      });
      await admin.initialize();
      try {
        const rows = await admin.query<{ id: number }[]>(
          'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
          [name],
        );
        for (const { id } of rows) await admin.query(`KILL ${Number(id)}`).catch(() => undefined);
      } finally {
        await admin.destroy();
      }
      const statuses: number[] = [];
      await eventually(async () => {
        const res = await t.http().get('/api/v1/auth/me').set(bearer(user.token));
        statuses.push(res.status);
        return res.status === 200;
      }, 'the pool to reconnect');
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      await t.http().get('/health/ready').expect(200);
    });
  } else {
    it('answers 503 when the SQLite file can no longer be used, and stays alive', async () => {
      const user = await registerUser(t);
      const driver = t.app.get(DataSource).driver as unknown as {
        databaseConnection: { close(): void };
      };
      driver.databaseConnection.close();
      const me = await t.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(503);
      expect(me.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable; try again',
        code: 'DATABASE_UNAVAILABLE',
      });
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: user.username, password: user.password })
        .expect(503);
      const health = await t.http().get('/health').expect(503);
      expect(health.body.error.database.status).toBe('down');
      await t.http().get('/health/ready').expect(503);
      await t.http().get('/health/live').expect(200);
    });
  }
});
