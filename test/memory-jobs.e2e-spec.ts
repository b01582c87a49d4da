import { MemoryJob, User } from '@app/database';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';

import { MemoryJobsRepository } from '@app/memory-jobs/memory-jobs.repository';
import { userRow } from './support/builders';
import { TEST_DATABASES } from './support/databases';
import { useApp, useFakeDate } from './support/use-app';

/** The queue itself, on the real database: claims from competing workers. */
describe.each(TEST_DATABASES)('memory job queue on $name', (db) => {
  // Workers stay off: this test is the only one claiming.
  const t = useApp(db, { env: { MEMORY_WORKERS_ENABLED: 'false' } });
  // Leases and due times are stamped from Date: a lease runs out when a test moves the clock.
  const clock = useFakeDate();
  let repo: MemoryJobsRepository;
  let ds: DataSource;

  beforeAll(() => {
    repo = t.app.get(MemoryJobsRepository);
    ds = t.app.get(DataSource);
  });
  beforeEach(() => ds.createQueryBuilder().delete().from(MemoryJob).execute());

  async function seed(
    users: number,
    jobsPerUser: number,
    sessionOf: (job: number) => string = () => randomUUID(),
  ): Promise<string[]> {
    const now = new Date();
    const ids: string[] = [];
    for (let u = 0; u < users; u++) {
      const user = userRow();
      await ds.getRepository(User).insert(user);
      for (let j = 0; j < jobsPerUser; j++) {
        const id = randomUUID();
        ids.push(id);
        const at = new Date(now.getTime() - 1000 + j);
        await repo.enqueue(
          ds.manager,
          {
            id,
            userId: user.id,
            sessionId: sessionOf(j),
            messageId: randomUUID(),
            replyId: randomUUID(),
          },
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
        for (const job of jobs) expect(await repo.complete([job.id], workers[i])).toBe(1);
      }
    }
    expect(seen.size).toBe(24);
    expect(await ds.getRepository(MemoryJob).count()).toBe(0);
  });

  it('does not let a worker finish a job it no longer holds', async () => {
    const [id] = await seed(1, 1);
    const [job] = await repo.claim('holder', 1, 60_000);
    expect(job.id).toBe(id);
    expect(await repo.complete([id], 'someone-else')).toBe(0);
    expect(await repo.complete([id], 'holder')).toBe(1);
  });

  it('reclaims an expired lease, and fails a job that has no attempts left', async () => {
    const [a, b] = await seed(2, 1);
    const jobs = ds.getRepository(MemoryJob);
    const claimed = await repo.claim('dying', 2, 1);
    expect(claimed.map((j) => j.id).sort()).toEqual([a, b].sort());
    await jobs.update(b, { attempts: 5 });
    clock.advance(20);
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

  it("batches a claimed job with its session's due turns, and finishes or loses them together", async () => {
    const session = randomUUID();
    const other = randomUUID();
    // Jobs 0-4 in one session, 5 in another; job 3 waits for a retry later on.
    const ids = await seed(1, 6, (j) => (j < 5 ? session : other));
    const jobs = ds.getRepository(MemoryJob);
    await jobs.update(ids[3], { runAt: new Date(Date.now() + 60_000) });
    const [lead] = await repo.claim('w1', 1, 60_000);
    expect(lead.id).toBe(ids[0]);
    const followers = await repo.claimFollowers(lead, 'w1', 2, 60_000);
    expect(followers.map((j) => j.id)).toEqual([ids[1], ids[2]]);
    expect(await repo.claimFollowers(lead, 'w1', 8, 60_000)).toEqual([
      expect.objectContaining({ id: ids[4], status: 'running', attempts: 1, lockedBy: 'w1' }),
    ]);
    // Nothing else of this user can be claimed while the batch runs, not even the other session.
    expect(await repo.claim('w2', 4, 60_000)).toEqual([]);
    const batch = [lead.id, ids[1], ids[2], ids[4]];
    expect(await repo.heartbeat(batch, 'w1', 60_000)).toBe(true);
    expect(await repo.heartbeat(batch, 'w2', 60_000)).toBe(false);
    expect(await repo.complete(batch, 'w1')).toBe(4);
    expect((await jobs.find({ order: { createdAt: 'ASC' } })).map((j) => j.id)).toEqual([
      ids[3],
      ids[5],
    ]);

    // A batch whose worker died goes back to the queue whole.
    const [next] = await repo.claim('dying', 1, 1);
    expect(next.id).toBe(ids[5]);
    await jobs.update(ids[3], { runAt: new Date(), sessionId: other });
    expect((await repo.claimFollowers(next, 'dying', 8, 1)).map((j) => j.id)).toEqual([ids[3]]);
    clock.advance(20);
    expect(await repo.reclaimExpired(5)).toBe(2);
    expect(await jobs.findBy({ status: 'pending', attempts: 1, lockedBy: IsNull() })).toHaveLength(
      2,
    );
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
