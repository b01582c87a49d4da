import { AppConfig } from '@app/config';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { Piscina } from 'piscina';

import type { BcryptTask } from './bcrypt.worker';

/**
 * The worker file beside this one: `.js` in the build, `.ts` under jest and ts-node, where the
 * worker thread compiles it with ts-node (a thread does not inherit its parent's require hooks).
 */
const WORKER_FILE = join(__dirname, `bcrypt.worker${extname(__filename)}`);
const WORKER_EXEC_ARGV =
  extname(__filename) === '.ts'
    ? ['--require', require.resolve('ts-node/register/transpile-only')]
    : undefined;

/**
 * bcrypt behind an injectable seam, so services can be tested without paying for real hashes.
 * bcryptjs runs on a pool of worker threads, one per core, created at the first hash and
 * destroyed on shutdown: a login (about 0.3 s of CPU at cost 12) never holds the event loop, so
 * every other request keeps being served while it runs. It reads `$2a$` and `$2b$` hashes.
 */
@Injectable()
export class PasswordHasher implements OnApplicationShutdown {
  private workers?: Piscina<BcryptTask, string | boolean>;
  private shutDown = false;
  private dummyHash?: Promise<string>;

  constructor(private readonly config: AppConfig) {}

  async hash(password: string): Promise<string> {
    const task: BcryptTask = { op: 'hash', password, cost: this.config.auth.bcryptCost };
    return this.pool().run(task) as Promise<string>;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const task: BcryptTask = { op: 'verify', password, encoded };
    return this.pool().run(task) as Promise<boolean>;
  }

  /**
   * Spends the same time as a real comparison when there is no user to compare against,
   * so response timing does not reveal whether a username exists.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dummy-password-for-timing-only');
    await this.verify(password, await this.dummyHash);
    return false;
  }

  /** Runs after the HTTP server has closed, so no login is still waiting for a thread. */
  async onApplicationShutdown(): Promise<void> {
    this.shutDown = true;
    const workers = this.workers;
    this.workers = undefined;
    await workers?.destroy();
  }

  private pool(): Piscina<BcryptTask, string | boolean> {
    if (this.shutDown) throw new Error('PasswordHasher is shut down');
    this.workers ??= new Piscina<BcryptTask, string | boolean>({
      filename: WORKER_FILE,
      execArgv: WORKER_EXEC_ARGV,
      maxThreads: availableParallelism(),
      minThreads: 1,
      idleTimeout: 60_000,
    });
    return this.workers;
  }
}
