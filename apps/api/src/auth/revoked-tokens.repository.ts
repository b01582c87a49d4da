import { isForeignKeyViolation, RevokedToken, Transactions } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';

@Injectable()
export class RevokedTokensRepository {
  constructor(
    @InjectRepository(RevokedToken) private readonly tokens: Repository<RevokedToken>,
    private readonly tx: Transactions,
  ) {}

  /**
   * Idempotent: revoking a token twice is not an error. When the user was deleted meanwhile,
   * nothing is stored: every token of a deleted user is refused anyway.
   */
  async revoke(token: RevokedToken): Promise<void> {
    try {
      await this.tx.write('revokedTokens.revoke', (manager) =>
        manager.upsert(RevokedToken, token, ['jti']),
      );
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
    }
  }

  /** Rows whose token expired before `now` (its signature check refuses it by then); how many. */
  async deleteExpired(now: Date): Promise<number> {
    const result = await this.tx.write('revokedTokens.prune', (manager) =>
      manager.delete(RevokedToken, { expiresAt: LessThan(now) }),
    );
    return result.affected ?? 0;
  }
}
