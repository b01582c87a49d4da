import { MemoryStore } from '@app/ai';
import { MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

import { MemoryJobWorker } from '@app/memory-jobs/memory-job.worker';
import { TEST_DATABASES } from './support/databases';
import { OpenAiTestDouble } from './support/openai-double';
import { runEntry } from './support/process';
import {
  bearer,
  eventually,
  modelEnv,
  registerUser,
  startApp,
  testEnv,
  TestApp,
  TestUser,
} from './support/test-app';

/** A worker killed in the middle of an extraction loses no job and leaves no duplicate memory. */
describe.each(TEST_DATABASES)('worker crash on $name', (db) => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let api: TestApp;
  let env: Record<string, string | undefined>;
  const jobsOf = (u: TestUser) =>
    api.app.get(DataSource).getRepository(MemoryJob).findBy({ userId: u.id });
  const memoriesOf = async (u: TestUser) =>
    (await api.http().get('/api/v1/memories').set(bearer(u.token)).expect(200)).body.items.map(
      (m: { memory: string }) => m.memory,
    );

  beforeAll(async () => {
    await double.start();
    env = testEnv(db, {
      ...modelEnv(double.baseURL),
      MEMORY_WORKERS_ENABLED: 'false',
      MEMORY_JOB_LEASE_SECONDS: '2',
      OPENAI_TIMEOUT_MS: '30000',
    });
    api = await startApp(env);
  });
  afterAll(async () => {
    await api.close();
    await double.stop();
  });
  afterEach(() => double.reset());

  it('SIGKILL of a worker process mid-extraction: the job is reclaimed and stored once', async () => {
    const u = await registerUser(api);
    await api
      .http()
      .post(`/api/v1/chat/${u.id}`)
      .set(bearer(u.token))
      .send({ message: 'I live in Oslo. I like chess.' })
      .expect(200);
    double.clear();
    double.setLatency(20_000, 'chat'); // the extraction call hangs until the worker is gone
    const worker = runEntry('apps/worker/src/main.ts', { ...env, MEMORY_JOB_LEASE_SECONDS: '2' });
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
    // Another worker (here the API's own) reclaims the job once its lease has run out.
    api.app.get(MemoryJobWorker).start();
    try {
      await eventually(
        async () => (await jobsOf(u)).length === 0,
        'the job to be reclaimed and finished',
        30_000,
      );
    } finally {
      await api.app.get(MemoryJobWorker).beforeApplicationShutdown();
    }
    expect((await memoriesOf(u)).sort()).toEqual(['I like chess.', 'I live in Oslo.']);
  });

  it('a re-run first removes what the interrupted attempt had stored', async () => {
    const u = await registerUser(api);
    const turn = await api
      .http()
      .post(`/api/v1/chat/${u.id}`)
      .set(bearer(u.token))
      .send({ message: 'I work at the harbour.' })
      .expect(200);
    const jobs = api.app.get(DataSource).getRepository(MemoryJob);
    const [job] = await jobsOf(u);
    // What a worker that died after mem0 stored part of the turn leaves behind.
    await api.app
      .get(MemoryStore)
      .add(u.id, [{ role: 'user', content: 'My partial fact is here.' }], {
        session_id: turn.body.session_id,
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
    api.app.get(MemoryJobWorker).start();
    try {
      await eventually(async () => (await jobsOf(u)).length === 0, 'the re-run to finish');
    } finally {
      await api.app.get(MemoryJobWorker).beforeApplicationShutdown();
    }
    expect(await memoriesOf(u)).toEqual(['I work at the harbour.']);
  });
});
