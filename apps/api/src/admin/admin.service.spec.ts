import { ErrorCode } from '@app/common';
import { MemoryJobsService } from '@app/memory-jobs';

import { SessionsService } from '../sessions/sessions.service';
import { UsersService } from '../users/users.service';
import { authenticatedUser, memoryJobRow, userRow } from '../../../../test/support/builders';
import { AdminService } from './admin.service';

const caller = authenticatedUser({
  id: 'admin-1',
  username: 'root',
  email: 'root@example.com',
  role: 'admin',
});

const user = userRow({
  id: 'u1',
  username: 'alice',
  email: 'alice@example.com',
  tokenVersion: 1,
  disabled: true,
  createdAt: new Date('2026-01-02T00:00:00.000Z'),
});

const failedJob = memoryJobRow({
  id: 'j1',
  userId: 'u1',
  sessionId: 's1',
  messageId: 'm1',
  replyId: 'm2',
  status: 'failed',
  lastError: 'boom',
  runAt: new Date('2026-01-03T00:00:00.000Z'),
  createdAt: new Date('2026-01-03T00:00:00.000Z'),
  updatedAt: new Date('2026-01-03T00:00:00.000Z'),
});

describe('AdminService', () => {
  let users: { updateAccess: jest.Mock };
  let sessions: { countsForUsers: jest.Mock };
  let jobs: { retry: jest.Mock };
  let service: AdminService;

  beforeEach(() => {
    users = { updateAccess: jest.fn().mockResolvedValue(user) };
    sessions = {
      countsForUsers: jest
        .fn()
        .mockResolvedValue(new Map([['u1', { sessionCount: 2, messageCount: 9 }]])),
    };
    jobs = { retry: jest.fn().mockResolvedValue({ outcome: 'not_found' }) };
    service = new AdminService(
      users as unknown as UsersService,
      sessions as unknown as SessionsService,
      jobs as unknown as MemoryJobsService,
    );
  });

  describe('updateUser', () => {
    it('answers with the updated user and their counts', async () => {
      await expect(service.updateUser(caller, 'u1', { disabled: true })).resolves.toEqual({
        id: 'u1',
        username: 'alice',
        email: 'alice@example.com',
        role: 'user',
        created_at: '2026-01-02T00:00:00.000Z',
        disabled: true,
        session_count: 2,
        message_count: 9,
      });
      expect(users.updateAccess).toHaveBeenCalledWith('u1', { disabled: true });
    });

    it('refuses an empty change', async () => {
      await expect(service.updateUser(caller, 'u1', {})).rejects.toMatchObject({
        code: ErrorCode.ValidationFailed,
      });
      expect(users.updateAccess).not.toHaveBeenCalled();
    });

    it.each([[{ disabled: true }], [{ role: 'user' as const }]])(
      'refuses to let an admin lock themself out: %p',
      async (changes) => {
        await expect(service.updateUser(caller, caller.id, changes)).rejects.toMatchObject({
          code: ErrorCode.CannotChangeSelf,
          message: 'You cannot disable or demote yourself',
        });
        expect(users.updateAccess).not.toHaveBeenCalled();
      },
    );

    it('lets an admin send their own unchanged role and state', async () => {
      await service.updateUser(caller, caller.id, { role: 'admin', disabled: false });
      expect(users.updateAccess).toHaveBeenCalledWith(caller.id, {
        role: 'admin',
        disabled: false,
      });
    });
  });

  describe('retryMemoryJob', () => {
    it('answers 404 for an unknown job', async () => {
      await expect(service.retryMemoryJob('nope')).rejects.toMatchObject({
        code: ErrorCode.JobNotFound,
      });
      expect(jobs.retry).toHaveBeenCalledWith('nope');
    });

    it('answers 409 for a job that is not failed', async () => {
      jobs.retry.mockResolvedValue({ outcome: 'not_failed' });
      await expect(service.retryMemoryJob('j1')).rejects.toMatchObject({
        code: ErrorCode.JobNotFailed,
      });
    });

    it('answers the job as queued again', async () => {
      const now = new Date('2026-01-04T00:00:00.000Z');
      jobs.retry.mockResolvedValue({
        outcome: 'queued',
        job: { ...failedJob, status: 'pending', attempts: 0, runAt: now, updatedAt: now },
      });
      expect(await service.retryMemoryJob('j1')).toMatchObject({
        id: 'j1',
        status: 'pending',
        attempts: 0,
        last_error: 'boom',
        run_at: now.toISOString(),
      });
    });
  });
});
