import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/bcrypt';

/**
 * bcrypt behind an injectable seam, so services can be tested without paying for real hashes.
 * The native implementation hashes on libuv's thread pool: a login (about 0.3 s of CPU at cost 12)
 * never holds the event loop, so every other request keeps being served while it runs. It reads
 * the `$2a$`/`$2b$` hashes bcryptjs wrote before.
 */
@Injectable()
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly config: AppConfig) {}

  hash(password: string): Promise<string> {
    return hash(password, this.config.auth.bcryptCost);
  }

  verify(password: string, encoded: string): Promise<boolean> {
    return verify(password, encoded);
  }

  /**
   * Spends the same time as a real comparison when there is no user to compare against,
   * so response timing does not reveal whether a username exists.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dummy-password-for-timing-only');
    await verify(password, await this.dummyHash);
    return false;
  }
}
