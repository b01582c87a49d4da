import {
  API_KEY_PATTERN,
  AuthenticatedUser,
  authenticatedUser,
  DomainError,
  ErrorCode,
} from '@app/common';
import { AppConfig } from '@app/config';
import { ApiKey } from '@app/database';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { UsersService } from '../users/users.service';
import { hashApiKey, newApiKeySecret } from './api-key-secret';
import { ApiKeysRepository } from './api-keys.repository';

/** last_used_at is written at most this often per key: a use is recorded to about a minute. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** The "expiry" of a caller who came with a key that never expires. */
export const NEVER_EXPIRES = new Date('9999-12-31T23:59:59.999Z');
const DAY_MS = 24 * 60 * 60 * 1000;

export interface NewApiKeyInput {
  name: string;
  /** Days from now until the key stops working; absent or null: never. */
  expiresInDays?: number | null;
}

/**
 * Personal API keys: made for the caller (the key shown once), listed, revoked, and turned back
 * into a caller by the guard (`authenticate`) on routes that accept them.
 */
@Injectable()
export class ApiKeysService implements OnModuleDestroy {
  private readonly logger = new Logger(ApiKeysService.name);
  /** Writes of last_used_at under way, by key id: one at a time per key, awaited at shutdown. */
  private readonly touching = new Map<string, Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
    private readonly users: UsersService,
  ) {}

  /** A new key of the caller's; `secret` is the key itself, to be shown this once. */
  async create(
    caller: AuthenticatedUser,
    input: NewApiKeyInput,
  ): Promise<{ key: ApiKey; secret: string }> {
    const secret = newApiKeySecret();
    const now = new Date();
    const key = await this.keys.create(
      {
        id: randomUUID(),
        userId: caller.id,
        name: input.name,
        prefix: secret.prefix,
        keyHash: secret.hash,
        createdAt: now,
        lastUsedAt: null,
        expiresAt: input.expiresInDays
          ? new Date(now.getTime() + input.expiresInDays * DAY_MS)
          : null,
      },
      { max: this.config.auth.apiKeysMaxPerUser, tokenVersion: caller.tokenVersion },
    );
    return { key, secret: secret.key };
  }

  /** The user's keys, newest first. */
  list(userId: string): Promise<ApiKey[]> {
    return this.keys.findForUser(userId);
  }

  /** For an admin: the user must exist (404 otherwise), even when they hold no key. */
  async listOfUser(userId: string): Promise<ApiKey[]> {
    if (!(await this.users.findById(userId))) {
      throw new DomainError(ErrorCode.UserNotFound, 'User not found');
    }
    return this.keys.findForUser(userId);
  }

  /** 404 for a key that is not the user's, exactly as for one that does not exist. */
  async revoke(userId: string, keyId: string): Promise<void> {
    if (!(await this.keys.deleteForUser(userId, keyId))) {
      throw new DomainError(ErrorCode.ApiKeyNotFound, 'API key not found');
    }
  }

  /**
   * The caller a key stands for, or null when the key is malformed or unknown, has expired, or its
   * owner is disabled or has moved their token_version on since the key was made (a password
   * reset, an admin's role change or disable: every key ends with every token). A deleted owner's
   * keys are gone with them (foreign-key cascade). A database error propagates.
   */
  async authenticate(rawKey: string): Promise<AuthenticatedUser | null> {
    // Anything else cannot be a key: no need to ask the database.
    if (!API_KEY_PATTERN.test(rawKey)) return null;
    const holder = await this.keys.findHolder(hashApiKey(rawKey));
    if (!holder) return null;
    const { key, user } = holder;
    const now = new Date();
    if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return null;
    if (user.disabled || user.tokenVersion !== key.tokenVersion) return null;
    this.recordUse(key, now);
    return authenticatedUser(user, {
      tokenId: `key:${key.id}`,
      tokenExpiresAt: key.expiresAt ?? NEVER_EXPIRES,
      tokenVersion: key.tokenVersion,
      apiKeyId: key.id,
    });
  }

  /** Lets writes of last_used_at under way finish before the database connection closes. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.touching.values());
  }

  /**
   * Records the use when the stored one is a minute old or more: no write on most requests, and
   * never one the request waits for. A failed write is logged (the key id, never the key) and
   * the request goes on.
   */
  private recordUse(key: Pick<ApiKey, 'id' | 'lastUsedAt'>, now: Date): void {
    const notBefore = new Date(now.getTime() - LAST_USED_INTERVAL_MS);
    if (key.lastUsedAt && key.lastUsedAt > notBefore) return;
    if (this.touching.has(key.id)) return;
    const write = this.keys
      .touch(key.id, now, notBefore)
      .catch((error: unknown) =>
        this.logger.warn(
          { err: error, api_key_id: key.id },
          'Could not record when an API key was last used',
        ),
      )
      .finally(() => this.touching.delete(key.id));
    this.touching.set(key.id, write);
  }
}
