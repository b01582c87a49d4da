import { MemoryStore } from '@app/ai';
import { MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import {
  bearer,
  chatTurn,
  eventually,
  runWorkerUntilDone,
  registerUser,
  TestUser,
} from './support/test-app';
import { fakeDate, useApp } from './support/use-app';

/** A worker killed in the middle of an extraction loses no job and leaves no duplicate memory. */
describe.each(TEST_DATABASES)('worker crash on $name', (db) => {
  const api = useApp(db, {
    double: true,
    env: {
      MEMORY_WORKERS_ENABLED: 'false',
      MEMORY_JOB_LEASE_SECONDS: '2',
      OPENAI_TIMEOUT_MS: '30000',
    },
  });
  const { double } = api;
  const jobsOf = (u: TestUser) =>
    api.app.get(DataSource).getRepository(MemoryJob).findBy({ userId: u.id });
  const memoriesOf = async (u: TestUser) =>
    (await api.http().get('/api/v1/memories').set(bearer(u.token)).expect(200)).body.items.map(
      (m: { memory: string }) => m.memory,
    );

  it('SIGKILL of a worker process mid-extraction: the job is reclaimed and stored once', async () => {
    const u = await registerUser(api);
    await chatTurn(api, u, 'I live in Oslo. I like chess.');
    double.clear();
    double.setLatency(20_000, 'chat'); // the extraction call hangs until the worker is gone
    const worker = api.spawnWorker();
    try {
      await eventually(
        () => Promise.resolve(double.extractionRequests().length > 0),
        'the worker to start extracting',
        45_000,
      );
      const [running] = await jobsOf(u);
      expect(running).toMatchObject({ status: 'running', attempts: 1 });
      worker.child.kill('SIGKILL');
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
    double.reset();
    // Another worker (here the API's own) reclaims the job once its lease (2 s, stamped from Date
    // like every lease) has run out: the API's clock is moved past it rather than waited out.
    fakeDate(Date.now() + 2500);
    try {
      await runWorkerUntilDone(api, u);
    } finally {
      jest.useRealTimers();
    }
    expect((await memoriesOf(u)).sort()).toEqual(['I like chess.', 'I live in Oslo.']);
  });

  it('a re-run first removes what the interrupted attempt had stored', async () => {
    const u = await registerUser(api);
    const turn = await chatTurn(api, u, 'I work at the harbour.');
    const jobs = api.app.get(DataSource).getRepository(MemoryJob);
    const [job] = await jobsOf(u);
    // What a worker that died after mem0 stored part of the turn leaves behind.
    await api.app
      .get(MemoryStore)
      .add(u.id, [{ role: 'user', content: 'My partial fact is here.' }], {
        session_id: turn.session_id,
        message_id: job.messageId,
        job_id: job.id,
      });
    expect(await memoriesOf(u)).toEqual(['My partial fact is here.']);
    await jobs.update(job.id, {
      status: 'running',
      attempts: 1,
      lockedBy: 'dead-worker',
      runningUserId: u.id,
      leaseUntil: new Date(Date.now() - 1000),
    });
    await runWorkerUntilDone(api, u);
    expect(await memoriesOf(u)).toEqual(['I work at the harbour.']);
  });
});
