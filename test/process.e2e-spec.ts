import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

import { freePort, RunningProcess, runEntry } from './support/process';
import { eventually, newDataDir } from './support/test-app';

async function waitFor(url: string, child: ChildProcess, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer in time`);
}

/**
 * The server as `npm start` runs it (from source, in its own process, on the embedded default,
 * with no database server and no API key), shut down by SIGTERM.
 */
describe('server process', () => {
  let server: RunningProcess;
  let child: ChildProcess;
  let base: string;
  const output = () => server.output();

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = runEntry('apps/api/src/main.ts', {
      NODE_ENV: 'development',
      DATA_DIR: newDataDir(),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      BCRYPT_COST: '12',
    });
    child = server.child;
    await waitFor(`${base}/health/live`, child);
  });

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('starts on SQLite with a generated secret, logging JSON with request ids', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(output()).toContain('JWT_SECRET is unset');
    const lines = output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    await fetch(`${base}/`, { headers: { 'X-Request-Id': 'process-test-1' } });
    await eventually(
      () => Promise.resolve(output().includes('"request_id":"process-test-1"')),
      'the request’s log line',
    );
    expect(output()).not.toContain('authorization');
  });

  it('finishes an in-flight request on SIGTERM, then exits cleanly', async () => {
    // Registration hashes with bcrypt cost 12 (~300 ms): still running when the signal arrives.
    const inFlight = fetch(`${base}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        username: 'lastone',
        email: 'last@example.com',
        password: 'long enough pw',
      }),
    });
    await new Promise((r) => setTimeout(r, 50));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(201);
    // Nest re-raises the signal once its shutdown hooks are done, so the process ends by SIGTERM.
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output()).toContain('SIGTERM received');
  });
});
