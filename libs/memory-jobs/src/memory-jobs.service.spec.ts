import { Transactions } from '@app/database';
import { EntityManager } from 'typeorm';

import { memoryJobRow } from '../../../test/support/builders';
import { MemoryJobWorker } from './memory-job.worker';
import { MemoryJobsRepository } from './memory-jobs.repository';
import { MemoryJobsService } from './memory-jobs.service';

const failedJob = memoryJobRow({ id: 'j1', userId: 'u1', status: 'failed', lastError: 'boom' });

describe('MemoryJobsService', () => {
  let jobs: { enqueue: jest.Mock; findById: jest.Mock; retryFailed: jest.Mock };
  let worker: { wake: jest.Mock };
  let tx: { afterCommit: jest.Mock };
  let service: MemoryJobsService;

  beforeEach(() => {
    jobs = {
      enqueue: jest.fn().mockResolvedValue(undefined),
      findById: jest.fn().mockResolvedValue(null),
      retryFailed: jest.fn(),
    };
    worker = { wake: jest.fn() };
    tx = { afterCommit: jest.fn() };
    service = new MemoryJobsService(
      tx as unknown as Transactions,
      jobs as unknown as MemoryJobsRepository,
      worker as unknown as MemoryJobWorker,
    );
  });

  it('enqueues in the caller’s transaction and wakes the worker only once it commits', async () => {
    const manager = {} as EntityManager;
    const job = { id: 'j1', userId: 'u1', sessionId: 's1', messageId: 'm1', replyId: 'm2' };
    const now = new Date();
    await service.enqueue(manager, job, now);
    expect(jobs.enqueue).toHaveBeenCalledWith(manager, job, now);
    expect(worker.wake).not.toHaveBeenCalled();
    const [committedManager, onCommit] = tx.afterCommit.mock.calls[0] as [
      EntityManager,
      () => void,
    ];
    expect(committedManager).toBe(manager);
    onCommit();
    expect(worker.wake).toHaveBeenCalledTimes(1);
  });

  describe('retry', () => {
    it('is not_found for an unknown job', async () => {
      expect(await service.retry('nope')).toEqual({ outcome: 'not_found' });
    });

    it.each(['pending', 'running'] as const)('refuses a %s job', async (status) => {
      jobs.findById.mockResolvedValue({ ...failedJob, status });
      expect(await service.retry('j1')).toEqual({ outcome: 'not_failed' });
      expect(jobs.retryFailed).not.toHaveBeenCalled();
    });

    it('refuses a job that stopped being failed meanwhile', async () => {
      jobs.findById.mockResolvedValue(failedJob);
      jobs.retryFailed.mockResolvedValue(false);
      expect(await service.retry('j1')).toEqual({ outcome: 'not_failed' });
      expect(worker.wake).not.toHaveBeenCalled();
    });

    it('queues a failed job now with fresh attempts, keeps its error and wakes the worker', async () => {
      jobs.findById.mockResolvedValue(failedJob);
      jobs.retryFailed.mockResolvedValue(true);
      const retry = await service.retry('j1');
      expect(retry).toMatchObject({
        outcome: 'queued',
        job: { id: 'j1', status: 'pending', attempts: 0, lastError: 'boom' },
      });
      expect(jobs.retryFailed).toHaveBeenCalledWith('j1', expect.any(Date));
      const now = (jobs.retryFailed.mock.calls[0] as [string, Date])[1];
      expect(retry.outcome === 'queued' && retry.job.runAt).toBe(now);
      expect(worker.wake).toHaveBeenCalled();
    });
  });
});
