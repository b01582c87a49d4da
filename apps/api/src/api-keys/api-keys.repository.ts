import { DomainError, ErrorCode } from '@app/common';
import { ApiKey, Statements, Transactions, User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { UsersService } from '../users/users.service';

/** A key found by its hash, with its owner's current row: what authentication needs. */
export interface KeyHolder {
  key: Pick<ApiKey, 'id' | 'tokenVersion' | 'expiresAt' | 'lastUsedAt'>;
  user: User;
}

/** What a new key is made of; its token_version is the owner's, read under the lock. */
export type NewApiKey = Omit<ApiKey, 'tokenVersion' | 'user'>;

@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly tx: Transactions,
    private readonly statements: Statements,
    private readonly users: UsersService,
  ) {}

  /**
   * Inserts the key unless the user already holds `max`. The user row is locked exclusively first
   * (the locking rules: parents first), so that parallel creations count one after another
   * instead of all passing the check; a user deleted or disabled meanwhile is a 401, and so is a
   * token whose version was bumped since the request was authenticated (`tokenVersion`).
   */
  create(key: NewApiKey, options: { max: number; tokenVersion?: number }): Promise<ApiKey> {
    return this.tx.run('apiKeys.create', async (manager) => {
      const tokenVersion = await this.users.holdExclusively(manager, key.userId);
      if (options.tokenVersion !== undefined && options.tokenVersion !== tokenVersion) {
        throw new DomainError(ErrorCode.TokenInvalid, 'Invalid or missing access token');
      }
      const held = await manager.count(ApiKey, { where: { userId: key.userId } });
      if (held >= options.max) {
        throw new DomainError(
          ErrorCode.ApiKeyLimit,
          `An account can hold at most ${options.max} API keys; revoke one first`,
        );
      }
      const row: ApiKey = { ...key, tokenVersion };
      await manager.insert(ApiKey, row);
      return row;
    });
  }

  /** The user's keys, newest first (the id breaks ties). */
  findForUser(userId: string): Promise<ApiKey[]> {
    return this.keys.find({ where: { userId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** False when the user has no such key (any more). One statement: parallel revokes get one true. */
  async deleteForUser(userId: string, keyId: string): Promise<boolean> {
    const result = await this.tx.write('apiKeys.delete', (manager) =>
      manager.delete(ApiKey, { id: keyId, userId }),
    );
    return (result.affected ?? 0) > 0;
  }

  /**
   * The key with this hash and its owner, in one statement (the only query of a request that
   * presents a key, like the token holder's for a JWT). Prepared once; no cache, so a revoke,
   * disable or token-version bump counts at once on every replica.
   */
  async findHolder(keyHash: string): Promise<KeyHolder | null> {
    const { rows } = await this.statements.runIn(
      this.keys.manager,
      this.statements.sql(
        'SELECT {users}.*, {k}.{id} AS {key_id}, {k}.{token_version} AS {key_token_version}, ' +
          '{k}.{expires_at} AS {key_expires_at}, {k}.{last_used_at} AS {key_last_used_at} ' +
          'FROM {api_keys} {k} INNER JOIN {users} ON {users}.{id} = {k}.{user_id} ' +
          'WHERE {k}.{key_hash} = ?',
      ),
      [keyHash],
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    const date = (property: 'expiresAt' | 'lastUsedAt', value: unknown) =>
      value === null || value === undefined
        ? null
        : (this.statements.hydrate(ApiKey, property, value) as Date);
    return {
      key: {
        id: String(row.key_id),
        tokenVersion: Number(row.key_token_version),
        expiresAt: date('expiresAt', row.key_expires_at),
        lastUsedAt: date('lastUsedAt', row.key_last_used_at),
      },
      user: this.statements.entityOf(User, row),
    };
  }

  /**
   * Sets last_used_at to `at` unless it is already `notBefore` or later (another request or
   * replica recorded a use meanwhile): at most one write per key per interval.
   */
  async touch(keyId: string, at: Date, notBefore: Date): Promise<void> {
    await this.tx.write('apiKeys.touch', (manager) =>
      this.statements.runIn(
        manager,
        this.statements.sql(
          'UPDATE {api_keys} SET {last_used_at} = ? ' +
            'WHERE {id} = ? AND ({last_used_at} IS NULL OR {last_used_at} < ?)',
        ),
        [
          this.statements.value(ApiKey, 'lastUsedAt', at),
          keyId,
          this.statements.value(ApiKey, 'lastUsedAt', notBefore),
        ],
      ),
    );
  }
}
