import { execFileSync } from 'node:child_process';

import { bearer, eventually, registerUser, startApp, testEnv, TestApp } from '../support/test-app';

const url = process.env.TEST_DATABASE_URL;
const enabled = url !== undefined && process.env.TEST_DATABASE_RESTART === 'true';
const admin = ['--host=127.0.0.1', '--port=3306', '--user=root'];

function serverAnswers(): boolean {
  try {
    execFileSync('mariadb-admin', [...admin, 'ping'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function serverProcessGone(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'mariadbd'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/** Starts MariaDB as the machine notes say, again every few seconds until it answers. */
async function startServer(): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!serverAnswers()) {
    if (Date.now() > deadline) throw new Error('MariaDB did not start again');
    if (serverProcessGone()) {
      execFileSync('start-stop-daemon', [
        '--start',
        '--oknodo',
        '--background',
        '--exec',
        '/usr/sbin/mariadbd',
      ]);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * The database server really stopped and started again mid-run (CI only: .ci/run sets
 * TEST_DATABASE_RESTART=true, since it owns the local MariaDB): requests answer 503 while it is
 * down, liveness stays up, and the service recovers by itself when it is back.
 */
(enabled ? describe : describe.skip)('MariaDB stopped and restarted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(testEnv({ name: 'mariadb', url }));
  });
  afterAll(async () => {
    await startServer();
    await t.close();
  }, 120_000);

  it('answers 503 while the server is down and recovers without a restart', async () => {
    const user = await registerUser(t);
    execFileSync('mariadb-admin', [...admin, 'shutdown']);
    await eventually(() => Promise.resolve(serverProcessGone()), 'MariaDB to stop', 60_000);

    const me = await t.http().get('/api/v1/auth/me').set(bearer(user.token));
    expect(me.status).toBe(503);
    expect(me.body.message).toBe('The database is unavailable; try again');
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(503);
    await t.http().get('/health/ready').expect(503);
    await t.http().get('/health').expect(503);
    await t.http().get('/health/live').expect(200);

    await startServer();
    await eventually(
      async () => (await t.http().get('/api/v1/auth/me').set(bearer(user.token))).status === 200,
      'the service to recover',
      60_000,
    );
    await t.http().get('/health/ready').expect(200);
  }, 180_000);
});
