import { MemoryJob, User } from '@app/database';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { MemoryJobsRepository } from '../apps/api/src/memory-jobs/memory-jobs.repository';
import { TEST_DATABASES } from './support/databases';
import { startApp, testEnv, TestApp } from './support/test-app';

/** The queue itself, on the real database: claims from competing workers. */
describe.each(TEST_DATABASES)('memory job queue on $name', (db) => {
  let t: TestApp;
  let repo: MemoryJobsRepository;
  let ds: DataSource;

  beforeAll(async () => {
    // Workers stay off: this test is the only one claiming.
    t = await startApp(testEnv(db, { MEMORY_WORKERS_ENABLED: 'false' }));
    repo = t.app.get(MemoryJobsRepository);
    ds = t.app.get(DataSource);
  });
  afterAll(() => t.close());
  beforeEach(() => ds.createQueryBuilder().delete().from(MemoryJob).execute());

  async function seed(users: number, jobsPerUser: number): Promise<string[]> {
    const now = new Date();
    const ids: string[] = [];
    for (let u = 0; u < users; u++) {
      const userId = randomUUID();
      await ds.getRepository(User).insert({
        id: userId,
        username: `queue_${userId.slice(0, 8)}`,
        email: `${userId.slice(0, 8)}@example.com`,
        passwordHash: 'x',
        role: 'user',
        createdAt: now,
        updatedAt: now,
      });
      for (let j = 0; j < jobsPerUser; j++) {
        const id = randomUUID();
        ids.push(id);
        const at = new Date(now.getTime() - 1000 + j);
        await repo.enqueue(
          ds.manager,
          { id, userId, sessionId: randomUUID(), messageId: randomUUID(), replyId: randomUUID() },
          at,
        );
      }
    }
    return ids;
  }

  it('never hands one job to two workers, nor two jobs of one user at once', async () => {
    await seed(6, 4);
    const workers = ['w1', 'w2', 'w3', 'w4'];
    const seen = new Set<string>();
    // Claims that lose a deadlock come back empty; the workers try again, as at their next poll.
    for (let round = 0; round < 40 && seen.size < 24; round++) {
      const claims = await Promise.all(workers.map((w) => repo.claim(w, 3, 60_000)));
      const claimed = claims.flat();
      for (const job of claimed) {
        expect(seen.has(job.id)).toBe(false);
        seen.add(job.id);
      }
      const running = await ds.getRepository(MemoryJob).findBy({ status: 'running' });
      const users = running.map((j) => j.userId);
      expect(new Set(users).size).toBe(users.length);
      // Finish everything claimed this round so that the next round can take each user's next job.
      for (const [i, jobs] of claims.entries()) {
        for (const job of jobs) expect(await repo.complete(job.id, workers[i])).toBe(true);
      }
    }
    expect(seen.size).toBe(24);
    expect(await ds.getRepository(MemoryJob).count()).toBe(0);
  });

  it('does not let a worker finish a job it no longer holds', async () => {
    const [id] = await seed(1, 1);
    const [job] = await repo.claim('holder', 1, 60_000);
    expect(job.id).toBe(id);
    expect(await repo.complete(id, 'someone-else')).toBe(false);
    expect(await repo.complete(id, 'holder')).toBe(true);
  });

  it('reclaims an expired lease, and fails a job that has no attempts left', async () => {
    const [a, b] = await seed(2, 1);
    const jobs = ds.getRepository(MemoryJob);
    const claimed = await repo.claim('dying', 2, 1);
    expect(claimed.map((j) => j.id).sort()).toEqual([a, b].sort());
    await jobs.update(b, { attempts: 5 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await repo.reclaimExpired(5)).toBe(2);
    expect(await jobs.findOneByOrFail({ id: a })).toMatchObject({
      status: 'pending',
      runningUserId: null,
      lockedBy: null,
      attempts: 1,
    });
    expect(await jobs.findOneByOrFail({ id: b })).toMatchObject({
      status: 'failed',
      runningUserId: null,
    });
    await jobs.delete({ id: a });
    await jobs.delete({ id: b });
  });

  if (db.url) {
    it('claims in an index-ordered scan with SKIP LOCKED', async () => {
      const plan = await ds.query<{ key: string | null; Extra: string }[]>(
        "EXPLAIN SELECT id FROM memory_jobs WHERE status = 'pending' AND run_at <= NOW(3) ORDER BY status, run_at LIMIT 8 FOR UPDATE SKIP LOCKED",
      );
      expect(plan[0].key).toBe('IDX_memory_jobs_status_run_at');
      expect(plan[0].Extra).not.toMatch(/filesort/i);
    });
  }
});
