import { MemoryJob } from '@app/database';
import { once } from 'node:events';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import { OpenAiTestDouble } from './support/openai-double';
import { RunningProcess, runEntry } from './support/process';
import {
  bearer,
  eventually,
  modelEnv,
  registerUser,
  startApp,
  testEnv,
  TestApp,
} from './support/test-app';

/**
 * The API with its workers switched off and a separate worker process (apps/worker) doing the
 * extraction, on the same database and DATA_DIR, as in a multi-process deployment.
 */
describe.each(TEST_DATABASES)('separate worker process on $name', (db) => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let api: TestApp;
  let worker: RunningProcess | undefined;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    await double.start();
    env = testEnv(db, { ...modelEnv(double.baseURL), MEMORY_WORKERS_ENABLED: 'false' });
    api = await startApp(env);
  });
  afterAll(async () => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
    await api.close();
    await double.stop();
  });

  it('leaves jobs queued in the API and lets the worker process run them', async () => {
    const u = await registerUser(api);
    await api
      .http()
      .post(`/api/v1/chat/${u.id}`)
      .set(bearer(u.token))
      .send({ message: 'I live in Vienna.' })
      .expect(200);
    const jobs = api.app.get(DataSource).getRepository(MemoryJob);
    await new Promise((r) => setTimeout(r, 300));
    expect(await jobs.findBy({ userId: u.id })).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 0 }),
    ]);

    worker = runEntry('apps/worker/src/main.ts', { ...env, LOG_LEVEL: 'info' });
    await eventually(
      async () => (await jobs.countBy({ userId: u.id })) === 0,
      'the worker to run the job',
      45_000,
    );
    const memories = await api.http().get('/api/v1/memories').set(bearer(u.token)).expect(200);
    expect(memories.body.items.map((m: { memory: string }) => m.memory)).toEqual([
      'I live in Vienna.',
    ]);
    expect(worker.output()).toContain('Memory extraction worker started');

    const exited = once(worker.child, 'exit');
    worker.child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, string | null];
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
  });
});
