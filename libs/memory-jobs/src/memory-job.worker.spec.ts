import { MemoryStore } from '@app/ai';
import { MemoryJob } from '@app/database';

import { fakeMemoryStore, loadTestConfig } from '../../../test/support/builders';
import { MemoryExtractionService } from './memory-extraction.service';
import { MemoryJobWorker } from './memory-job.worker';
import { MemoryJobsRepository } from './memory-jobs.repository';
import { Logger } from '@nestjs/common';

const job = { id: 'job-1', userId: 'u1', attempts: 1 } as MemoryJob;

function setUp(
  extract: (batch: MemoryJob[]) => Promise<void>,
  env: Record<string, string> = {},
  followers: MemoryJob[] = [],
) {
  const config = loadTestConfig({
    MEMORY_JOB_POLL_MS: '10',
    MEMORY_JOB_SHUTDOWN_GRACE_MS: '50',
    MEMORY_JOB_MAX_ATTEMPTS: '3',
    MEMORY_JOB_RETRY_BASE_MS: '1000',
    ...env,
  });
  const jobs = {
    reclaimExpired: jest.fn().mockResolvedValue(0),
    claim: jest.fn().mockResolvedValueOnce([job]).mockResolvedValue([]),
    claimFollowers: jest.fn().mockResolvedValue(followers),
    heartbeat: jest.fn().mockResolvedValue(true),
    complete: jest.fn((ids: string[]) => Promise.resolve(ids.length)),
    userExists: jest.fn().mockResolvedValue(true),
    fail: jest.fn().mockResolvedValue(undefined),
    release: jest.fn().mockResolvedValue(undefined),
  };
  const extraction = { extract: jest.fn(extract) };
  const store = fakeMemoryStore();
  store.eraseUser.mockResolvedValue(2);
  const worker = new MemoryJobWorker(
    config,
    jobs as unknown as MemoryJobsRepository,
    extraction as unknown as MemoryExtractionService,
    store as unknown as MemoryStore,
  );
  return { worker, jobs, extraction, store };
}

/** Runs the worker's timers on the fake clock, a poll (10 ms) at a time, until `check` holds. */
const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await jest.advanceTimersByTimeAsync(10);
  if (!check()) throw new Error('The worker never got there');
};

// Failures these tests provoke are logged on purpose.
beforeAll(() => Logger.overrideLogger(false));

describe('MemoryJobWorker', () => {
  // Polls, retries and the shutdown grace run on setTimeout and Date: on a fake clock, no waiting.
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('completes a job that succeeds', async () => {
    const { worker, jobs } = setUp(() => Promise.resolve());
    worker.start();
    await until(() => jobs.complete.mock.calls.length > 0);
    await worker.beforeApplicationShutdown();
    expect(jobs.complete).toHaveBeenCalledWith(['job-1'], worker.workerId);
    expect(jobs.fail).not.toHaveBeenCalled();
  });

  it('erases what it just stored when its jobs vanished with their deleted user', async () => {
    const gone = setUp(() => Promise.resolve());
    gone.jobs.complete.mockResolvedValue(0);
    gone.jobs.userExists.mockResolvedValue(false);
    gone.worker.start();
    await until(() => gone.store.eraseUser.mock.calls.length > 0);
    await gone.worker.beforeApplicationShutdown();
    expect(gone.store.eraseUser).toHaveBeenCalledWith('u1');
    expect(gone.jobs.fail).not.toHaveBeenCalled();

    // A lease lost to another worker (the user still exists) erases nothing.
    const lost = setUp(() => Promise.resolve());
    lost.jobs.complete.mockResolvedValue(0);
    lost.worker.start();
    await until(() => lost.jobs.userExists.mock.calls.length > 0);
    await lost.worker.beforeApplicationShutdown();
    expect(lost.store.eraseUser).not.toHaveBeenCalled();
  });

  it("hands the session's due turns to one extraction and settles them together", async () => {
    const followers = [
      { id: 'job-2', userId: 'u1', attempts: 1 },
      { id: 'job-3', userId: 'u1', attempts: 3 },
    ] as MemoryJob[];
    const ok = setUp(() => Promise.resolve(), { MEMORY_JOB_BATCH_SIZE: '3' }, followers);
    ok.worker.start();
    await until(() => ok.jobs.complete.mock.calls.length > 0);
    await ok.worker.beforeApplicationShutdown();
    expect(ok.jobs.claimFollowers).toHaveBeenCalledWith(job, ok.worker.workerId, 2, 120_000);
    expect(ok.extraction.extract).toHaveBeenCalledTimes(1);
    expect(ok.extraction.extract.mock.calls[0][0]).toEqual([job, ...followers]);
    expect(ok.jobs.complete).toHaveBeenCalledWith(['job-1', 'job-2', 'job-3'], ok.worker.workerId);

    // A failed batch: every job is retried on its own backoff, or fails for good when out of tries.
    const bad = setUp(() => Promise.reject(new Error('boom')), {}, followers);
    bad.worker.start();
    await until(() => bad.jobs.fail.mock.calls.length === 3);
    await bad.worker.beforeApplicationShutdown();
    const calls = bad.jobs.fail.mock.calls as [string, string, string, Date | null][];
    expect(calls.map(([id]) => id)).toEqual(['job-1', 'job-2', 'job-3']);
    expect(calls[1][3]!.getTime() - calls[0][3]!.getTime()).toBeLessThan(500);
    expect(calls[2][3]).toBeNull();
  });

  it('schedules a retry with backoff while attempts remain, and fails for good after', async () => {
    const { worker, jobs } = setUp(() => Promise.reject(new Error('boom: SELECT secret FROM x')));
    const failedAt: number[] = [];
    jobs.fail.mockImplementation(() => Promise.resolve(void failedAt.push(Date.now())));
    worker.start();
    await until(() => jobs.fail.mock.calls.length > 0);
    await worker.beforeApplicationShutdown();
    const [id, , message, retryAt] = jobs.fail.mock.calls[0] as [string, string, string, Date];
    expect(id).toBe('job-1');
    // Internals never reach the user-visible last_error.
    expect(message).toBe('Memory extraction failed');
    // The first retry comes MEMORY_JOB_RETRY_BASE_MS (1000) after the failure.
    expect(retryAt.getTime()).toBe(failedAt[0] + 1000);

    const last = setUp(() => Promise.reject(new Error('boom')), { MEMORY_JOB_MAX_ATTEMPTS: '1' });
    last.worker.start();
    await until(() => last.jobs.fail.mock.calls.length > 0);
    await last.worker.beforeApplicationShutdown();
    expect(last.jobs.fail.mock.calls[0][3]).toBeNull();
  });

  it('on shutdown stops claiming, waits the grace period, then returns a running job to the queue', async () => {
    const { worker, jobs, extraction } = setUp(() => new Promise<void>(() => undefined));
    worker.start();
    await until(() => extraction.extract.mock.calls.length > 0);
    const stopped = worker.beforeApplicationShutdown();
    // MEMORY_JOB_SHUTDOWN_GRACE_MS is 50: the job keeps its chance to finish until then.
    await jest.advanceTimersByTimeAsync(49);
    expect(jobs.release).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    await stopped;
    expect(jobs.release).toHaveBeenCalledWith(job, worker.workerId);
    const claims = jobs.claim.mock.calls.length;
    await jest.advanceTimersByTimeAsync(1000);
    expect(jobs.claim.mock.calls.length).toBe(claims);
  });
});
