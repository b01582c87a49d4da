import { MemoryStore } from '@app/ai';
import { AuthenticatedUser, DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { UserDeletion } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { ApiKeysService } from '../api-keys/api-keys.service';
import { ApiKeyDto } from '../api-keys/dto/api-key.dto';
import { SessionsService } from '../sessions/sessions.service';
import { LoginFailureLimiter } from '../throttling/login-failure-limiter';
import { PasswordHasher } from '../users/password-hasher';
import { UserDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import {
  AccountExportDto,
  ExportMemoryDto,
  ExportSessionDto,
  MemoriesStatus,
} from './dto/account.dto';
import { UserDeletionRepository } from './user-deletion.repository';

export const WRONG_PASSWORD = 'Invalid password';
/** About two hours of retries with the default 2 s base before a deletion is marked failed. */
export const USER_DELETION_MAX_ATTEMPTS = 12;
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

/**
 * The account lifecycle: export everything stored about a user, and delete a user completely.
 * A deletion removes the user row (everything in the database cascades) and records the erasure
 * of their memories in one transaction; the erasure is then tried at once and, when the memory
 * store is down, retried by UserDeletionWorker until it succeeds or is marked failed.
 */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly deletions: UserDeletionRepository,
    private readonly store: MemoryStore,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly failures: LoginFailureLimiter,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async exportFor(caller: AuthenticatedUser): Promise<AccountExportDto> {
    const [sessions, memories, apiKeys] = await Promise.all([
      this.sessions.exportForUser(caller.id),
      this.memoriesFor(caller.id),
      this.apiKeys.list(caller.id),
    ]);
    return {
      exported_at: new Date().toISOString(),
      user: UserDto.from(caller),
      sessions: sessions.map(({ session, messages }) => ExportSessionDto.from(session, messages)),
      // What the keys are called and when they were used: never a key (not stored) nor its hash.
      api_keys: apiKeys.map((key) => ApiKeyDto.from(key)),
      memories: memories.items,
      memories_status: memories.status,
    };
  }

  /**
   * The caller deletes their own account, after giving their password again. Wrong passwords
   * spend the account's failed-login budget, so a stolen token cannot guess without limit.
   */
  async deleteOwnAccount(
    caller: AuthenticatedUser,
    password: string,
    address?: string,
  ): Promise<void> {
    const attempt = { account: `user:${caller.id}`, address };
    await this.failures.assertAllowed(attempt);
    const user = await this.users.findById(caller.id);
    if (!user || !(await this.hasher.verify(password, user.passwordHash))) {
      await this.failures.recordFailure(attempt);
      throw new DomainError(ErrorCode.InvalidCredentials, WRONG_PASSWORD);
    }
    await this.deleteUser(caller.id, { keepAnAdmin: true });
  }

  /** An admin deletes another user; their own account only through deleteOwnAccount. */
  async deleteUserAsAdmin(admin: AuthenticatedUser, userId: string): Promise<void> {
    if (admin.id === userId)
      throw new DomainError(ErrorCode.CannotChangeSelf, 'You cannot delete yourself');
    await this.deleteUser(userId);
  }

  /**
   * Deletes the user and everything stored about them. Returns once the database rows are gone;
   * the memories are erased now when the store is up, else later by the worker.
   */
  async deleteUser(userId: string, options: { keepAnAdmin?: boolean } = {}): Promise<void> {
    const now = new Date();
    const result = await this.deletions.deleteUser(userId, options.keepAnAdmin ?? false, {
      id: randomUUID(),
      runAt: this.claimUntil(now),
      createdAt: now,
    });
    if (result.outcome === 'not_found')
      throw new DomainError(ErrorCode.UserNotFound, 'User not found');
    if (result.outcome === 'last_admin') {
      throw new DomainError(ErrorCode.LastAdmin, 'The last admin cannot delete themself');
    }
    this.logger.log({ user_id: userId, deletion_id: result.deletion.id }, 'User deleted');
    // A memory job already running for this user may still add memories after this erasure:
    // then sweep once more when its lease (no longer renewed: its row is gone) has run out.
    await this.eraseMemories(result.deletion, { sweepAgain: result.extractionRunning });
  }

  /**
   * One erasure attempt for a claimed deletion. Never throws: a failure is recorded on the
   * deletion (retry with backoff, or failed for good). Returns whether the memories are erased.
   */
  async eraseMemories(deletion: UserDeletion, options = { sweepAgain: false }): Promise<boolean> {
    try {
      // Without a configured memory store no memory can have been stored: nothing to erase.
      if (this.store.configured) await this.store.eraseUser(deletion.userId);
      if (options.sweepAgain) {
        await this.deletions.reschedule(
          deletion,
          this.claimUntil(new Date()),
          'Waiting for a running memory extraction to finish',
        );
      } else {
        await this.deletions.complete(deletion);
      }
      return true;
    } catch (error) {
      const retryAt =
        deletion.attempts < USER_DELETION_MAX_ATTEMPTS ? this.retryAt(deletion.attempts) : null;
      this.logger.warn(
        { deletion_id: deletion.id, attempt: deletion.attempts, err: error },
        retryAt
          ? 'Erasing a deleted user’s memories failed; will retry'
          : 'Erasure failed for good',
      );
      // Only a domain error's message is fit to keep; internals go to the log.
      const message = error instanceof DomainError ? error.message : 'Erasing the memories failed';
      await this.deletions.fail(deletion, message, retryAt).catch((e: unknown) => {
        this.logger.error({ err: e, deletion_id: deletion.id }, 'Could not record the failure');
      });
      return false;
    }
  }

  /** A running attempt owns its deletion until then; afterwards another process may retry. */
  claimUntil(now: Date): Date {
    return new Date(now.getTime() + this.config.memoryJobs.leaseMs);
  }

  private retryAt(attempts: number): Date {
    const delay = this.config.memoryJobs.retryBaseMs * 2 ** (attempts - 1);
    return new Date(Date.now() + Math.min(delay, MAX_RETRY_DELAY_MS));
  }

  private async memoriesFor(
    userId: string,
  ): Promise<{ items: ExportMemoryDto[]; status: MemoriesStatus }> {
    try {
      const memories = await this.store.list(userId);
      return { items: memories.map((m) => ExportMemoryDto.from(m)), status: 'ok' };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { items: [], status: 'unavailable' };
    }
  }
}
