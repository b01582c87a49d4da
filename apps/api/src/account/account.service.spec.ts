import { MemoryStore } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { UserDeletion } from '@app/database';
import { Logger } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';

import {
  authenticatedUser,
  fakeMemoryStore,
  loadTestConfig,
} from '../../../../test/support/builders';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { SessionsService } from '../sessions/sessions.service';
import { LoginFailureLimiter } from '../throttling/login-failure-limiter';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import { AccountService, USER_DELETION_MAX_ATTEMPTS } from './account.service';
import { UserDeletionRepository } from './user-deletion.repository';
import { UserDeletionWorker } from './user-deletion.worker';

const caller = authenticatedUser({ id: '11111111-1111-4111-8111-111111111111' });
const deletion: UserDeletion = {
  id: 'd1',
  userId: caller.id,
  status: 'pending',
  attempts: 1,
  lastError: null,
  runAt: new Date(),
  createdAt: new Date(),
  updatedAt: new Date(),
};

function setUp(env: Record<string, string> = {}) {
  const config = loadTestConfig({
    MEMORY_JOB_RETRY_BASE_MS: '1000',
    MEMORY_JOB_POLL_MS: '10',
    MEMORY_JOB_SHUTDOWN_GRACE_MS: '50',
    ...env,
  });
  const deletions = {
    deleteUser: jest.fn().mockResolvedValue({
      outcome: 'deleted',
      deletion,
      extractionRunning: false,
    }),
    claimDue: jest.fn().mockResolvedValue([]),
    complete: jest.fn().mockResolvedValue(undefined),
    fail: jest.fn().mockResolvedValue(undefined),
    reschedule: jest.fn().mockResolvedValue(undefined),
  };
  const store = fakeMemoryStore();
  store.eraseUser.mockResolvedValue(2);
  const users = {
    findById: jest.fn().mockResolvedValue({ ...caller, passwordHash: 'hash' }),
  };
  const hasher = { verify: jest.fn((pw: string) => Promise.resolve(pw === 'right')) };
  const sessions = { exportForUser: jest.fn().mockResolvedValue([]) };
  const apiKeys = {
    list: jest.fn().mockResolvedValue([
      {
        id: 'k1',
        userId: caller.id,
        name: 'editor',
        prefix: 'cbk_abcdefgh',
        keyHash: 'f'.repeat(64),
        tokenVersion: 0,
        createdAt: new Date('2026-01-01T00:00:00.000Z'),
        lastUsedAt: null,
        expiresAt: null,
      },
    ]),
  };
  const service = new AccountService(
    config,
    sessions as unknown as SessionsService,
    deletions as unknown as UserDeletionRepository,
    store as unknown as MemoryStore,
    users as unknown as UsersService,
    hasher as unknown as PasswordHasher,
    new LoginFailureLimiter(config, new ThrottlerStorageService()),
    apiKeys as unknown as ApiKeysService,
  );
  return { config, service, deletions, store };
}

// The failures these tests provoke are logged on purpose; keep the output readable.
beforeAll(() => Logger.overrideLogger(false));

describe('AccountService', () => {
  it('deletes the user, erases the memories at once and closes the deletion', async () => {
    const { service, deletions, store } = setUp();
    await service.deleteUser(caller.id);
    expect(deletions.deleteUser).toHaveBeenCalledWith(caller.id, false, expect.any(Object));
    expect(store.eraseUser).toHaveBeenCalledWith(caller.id);
    expect(deletions.complete).toHaveBeenCalledWith(deletion);
    expect(deletions.fail).not.toHaveBeenCalled();
  });

  it('counts a deletion as done when no memory store is configured', async () => {
    const { service, deletions, store } = setUp();
    store.configured = false;
    await service.deleteUser(caller.id);
    expect(store.eraseUser).not.toHaveBeenCalled();
    expect(deletions.complete).toHaveBeenCalledWith(deletion);
  });

  it('leaves the deletion pending with a retry time when the store is down', async () => {
    const { service, deletions, store } = setUp();
    store.eraseUser.mockRejectedValue(new Error('SQLITE_BUSY: internals'));
    await expect(service.deleteUser(caller.id)).resolves.toBeUndefined();
    expect(deletions.complete).not.toHaveBeenCalled();
    const [row, message, retryAt] = deletions.fail.mock.calls[0] as [UserDeletion, string, Date];
    expect(row).toBe(deletion);
    expect(message).toBe('Erasing the memories failed');
    expect(retryAt.getTime()).toBeGreaterThan(Date.now() + 500);
  });

  it('marks the deletion failed for good after the last attempt', async () => {
    const { service, deletions, store } = setUp();
    store.eraseUser.mockRejectedValue(
      new DomainError(ErrorCode.MemoryStoreUnavailable, 'Store down'),
    );
    const last = { ...deletion, attempts: USER_DELETION_MAX_ATTEMPTS };
    expect(await service.eraseMemories(last)).toBe(false);
    expect(deletions.fail).toHaveBeenCalledWith(last, 'Store down', null);
  });

  it('sweeps again later when a memory extraction was running for the user', async () => {
    const { service, deletions } = setUp();
    deletions.deleteUser.mockResolvedValue({
      outcome: 'deleted',
      deletion,
      extractionRunning: true,
    });
    await service.deleteUser(caller.id);
    expect(deletions.complete).not.toHaveBeenCalled();
    expect(deletions.reschedule).toHaveBeenCalledWith(
      deletion,
      expect.any(Date),
      expect.any(String),
    );
  });

  it('maps unknown users and the last admin to domain errors', async () => {
    const { service, deletions } = setUp();
    deletions.deleteUser.mockResolvedValueOnce({ outcome: 'not_found' });
    await expect(service.deleteUser(caller.id)).rejects.toMatchObject({
      code: ErrorCode.UserNotFound,
    });
    deletions.deleteUser.mockResolvedValueOnce({ outcome: 'last_admin' });
    await expect(service.deleteOwnAccount(caller, 'right')).rejects.toMatchObject({
      code: ErrorCode.LastAdmin,
      message: 'The last admin cannot delete themself',
    });
    expect(deletions.deleteUser).toHaveBeenLastCalledWith(caller.id, true, expect.any(Object));
  });

  it('refuses a wrong password before deleting anything', async () => {
    const { service, deletions } = setUp();
    await expect(service.deleteOwnAccount(caller, 'wrong')).rejects.toMatchObject({
      code: ErrorCode.InvalidCredentials,
    });
    expect(deletions.deleteUser).not.toHaveBeenCalled();
  });

  it('refuses an admin deleting themself through the admin endpoint', async () => {
    const { service, deletions } = setUp();
    await expect(
      service.deleteUserAsAdmin({ ...caller, role: 'admin' }, caller.id),
    ).rejects.toMatchObject({
      code: ErrorCode.CannotChangeSelf,
      message: 'You cannot delete yourself',
    });
    expect(deletions.deleteUser).not.toHaveBeenCalled();
  });

  it('exports memories as unavailable when the store is down', async () => {
    const { service, store } = setUp();
    store.list.mockRejectedValue(new DomainError(ErrorCode.MemoryStoreUnavailable, 'down'));
    await expect(service.exportFor(caller)).resolves.toMatchObject({
      memories: [],
      memories_status: 'unavailable',
    });
  });

  it('exports the API keys as lists show them, never their hash', async () => {
    const { service } = setUp();
    const bundle = await service.exportFor(caller);
    expect(bundle.api_keys).toEqual([
      {
        id: 'k1',
        name: 'editor',
        prefix: 'cbk_abcdefgh',
        created_at: '2026-01-01T00:00:00.000Z',
        last_used_at: null,
        expires_at: null,
      },
    ]);
    expect(JSON.stringify(bundle)).not.toContain('f'.repeat(64));
  });
});

describe('UserDeletionWorker', () => {
  // Its polls run on setTimeout: on a fake clock, a poll (MEMORY_JOB_POLL_MS, 10) at a time.
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await jest.advanceTimersByTimeAsync(10);
    if (!check()) throw new Error('The worker never got there');
  };

  it('retries due deletions, survives errors, and stops polling on shutdown', async () => {
    const { config, service, deletions, store } = setUp();
    deletions.claimDue
      .mockRejectedValueOnce(new Error('database gone'))
      .mockResolvedValueOnce([{ ...deletion, attempts: 2 }])
      .mockResolvedValue([]);
    const worker = new UserDeletionWorker(
      config,
      deletions as unknown as UserDeletionRepository,
      service,
    );
    worker.start();
    await until(() => deletions.complete.mock.calls.length > 0);
    expect(store.eraseUser).toHaveBeenCalledWith(caller.id);
    await worker.beforeApplicationShutdown();
    const polls = deletions.claimDue.mock.calls.length;
    await jest.advanceTimersByTimeAsync(1000);
    expect(deletions.claimDue.mock.calls.length).toBe(polls);
  });
});
