import { MemoryJob } from '@app/database';
import { once } from 'node:events';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import { bearer, chatTurn, memoryJobsDone, registerUser } from './support/test-app';
import { useApp } from './support/use-app';

/**
 * The API with its workers switched off and a separate worker process (apps/worker) doing the
 * extraction, on the same database and DATA_DIR, as in a multi-process deployment.
 */
describe.each(TEST_DATABASES)('separate worker process on $name', (db) => {
  const api = useApp(db, { double: true, env: { MEMORY_WORKERS_ENABLED: 'false' } });

  it('leaves jobs queued in the API and lets the worker process run them', async () => {
    const u = await registerUser(api);
    await chatTurn(api, u, 'I live in Vienna.');
    const jobs = api.app.get(DataSource).getRepository(MemoryJob);
    await new Promise((r) => setTimeout(r, 300));
    expect(await jobs.findBy({ userId: u.id })).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 0 }),
    ]);

    const worker = api.spawnWorker({ LOG_LEVEL: 'info' });
    await memoryJobsDone(api, u.id, 45_000);
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
