import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import * as bcrypt from 'bcryptjs';

/** bcrypt behind an injectable seam, so services can be tested without paying for real hashes. */
@Injectable()
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly config: AppConfig) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.auth.bcryptCost);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return bcrypt.compare(password, hash);
  }

  /**
   * Spends the same time as a real comparison when there is no user to compare against,
   * so response timing does not reveal whether a username exists.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dummy-password-for-timing-only');
    await bcrypt.compare(password, await this.dummyHash);
    return false;
  }
}
