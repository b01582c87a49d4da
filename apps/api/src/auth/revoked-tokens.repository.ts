import { RevokedToken } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

@Injectable()
export class RevokedTokensRepository {
  constructor(@InjectRepository(RevokedToken) private readonly tokens: Repository<RevokedToken>) {}

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.tokens.countBy({ jti })) > 0;
  }

  /** Idempotent: revoking a token twice is not an error. */
  async revoke(token: RevokedToken): Promise<void> {
    await this.tokens.upsert(token, ['jti']);
  }
}
