import { once } from 'node:events';

import { freePort, runEntry } from './support/process';
import { eventually, newDataDir } from './support/test-app';
import { useDouble } from './support/use-app';

/** SIGTERM under load: in-flight turns finish and are answered, then the process ends, promptly. */
describe('SIGTERM under load', () => {
  const double = useDouble();

  /** The API as its own process (main.ts), on a fresh SQLite data dir and the test double. */
  async function startServer(env: Record<string, string>) {
    const port = await freePort();
    const server = runEntry('apps/api/src/main.ts', {
      NODE_ENV: 'development',
      DATA_DIR: newDataDir(),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      BCRYPT_COST: '10',
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: double.baseURL,
      EMBEDDING_DIMS: '64',
      ...env,
    });
    return { base: `http://127.0.0.1:${port}`, server };
  }

  it('answers every accepted turn, then exits within the grace period', async () => {
    const { base, server } = await startServer({ MEMORY_JOB_SHUTDOWN_GRACE_MS: '2000' });
    try {
      await eventually(
        async () => (await fetch(`${base}/health/live`).catch(() => null))?.ok,
        'the server',
        45_000,
      );
      const json = { 'Content-Type': 'application/json' };
      const body = JSON.stringify({
        username: 'loaded',
        email: 'loaded@example.com',
        password: 'long enough pw',
      });
      await fetch(`${base}/api/v1/auth/register`, { method: 'POST', headers: json, body });
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'loaded', password: 'long enough pw' }),
      });
      const { access_token: token, user } = (await login.json()) as {
        access_token: string;
        user: { id: string };
      };

      double.setLatency(800, 'chat'); // turns are in flight when the signal arrives
      const turns = Array.from({ length: 20 }, (_, i) =>
        fetch(`${base}/api/v1/chat/${user.id}`, {
          method: 'POST',
          headers: { ...json, Authorization: `Bearer ${token}` },
          body: JSON.stringify({ message: `Message ${i}: I like number ${i}.` }),
        }),
      );
      await eventually(
        () => Promise.resolve(double.chatRequests().length >= 20),
        'the turns to reach the model',
      );
      const exited = once(server.child, 'exit');
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const answers = await Promise.all(turns);
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      await exited;
      const shutdownMs = Date.now() - signalledAt;
      // In-flight turns (~0.8 s) + extraction jobs given back after at most 2 s + closing.
      console.log(`SIGTERM to exit under load: ${shutdownMs} ms`);
      expect(shutdownMs).toBeLessThan(8000);
      expect(server.output()).toContain('SIGTERM received');
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null)
        server.child.kill('SIGKILL');
    }
  });

  it('with SHUTDOWN_DRAIN_SECONDS: not ready at once, still serving, then closes', async () => {
    const { base, server } = await startServer({ SHUTDOWN_DRAIN_SECONDS: '3' });
    try {
      await eventually(
        async () => (await fetch(`${base}/health/ready`).catch(() => null))?.ok,
        'readiness',
        45_000,
      );
      const json = { 'Content-Type': 'application/json' };
      await fetch(`${base}/api/v1/auth/register`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          username: 'draining',
          email: 'draining@example.com',
          password: 'long enough pw',
        }),
      });
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'draining', password: 'long enough pw' }),
      });
      const { access_token: token } = (await login.json()) as { access_token: string };
      const exited = once(server.child, 'exit');
      server.child.kill('SIGTERM');
      await eventually(
        async () => (await fetch(`${base}/health/ready`)).status === 503,
        'readiness to turn 503',
      );
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ code: 'SHUTTING_DOWN', statusCode: 503 });
      // Still serving while draining: liveness and authenticated requests.
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      const me = await fetch(`${base}/api/v1/auth/me`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(me.status).toBe(200);
      await exited;
      expect(server.output()).toContain('not ready; serving for 3 s more before closing');
      await expect(fetch(`${base}/health/live`)).rejects.toThrow();
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null)
        server.child.kill('SIGKILL');
    }
  });
});
