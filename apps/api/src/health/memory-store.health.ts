import { MemoryStore } from '@app/ai';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

const PING_TIMEOUT_MS = 2000;

/**
 * The memory store (mem0's vector store) answers a read, and mem0 is warmed up: the readiness
 * probe stays 503 until a first turn would find everything it needs made (the warm-up starts
 * with the application; the liveness probe never waits for it). Without an embedder (no model
 * endpoint, EMBEDDING_PROVIDER=openai) mem0 is not used at all, so it counts as up and says so: a
 * keyless deployment is still ready to serve auth, sessions and history.
 */
@Injectable()
export class MemoryStoreHealthIndicator implements OnApplicationBootstrap {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly store: MemoryStore,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: the server must listen (and answer liveness) meanwhile. A failure is tried
    // again by the readiness probe, which reports it.
    if (this.store.configured) this.store.warmUp().catch(() => undefined);
  }

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    if (!this.store.configured) return indicator.up({ configured: false });
    try {
      await withTimeout(this.store.warmUp(), PING_TIMEOUT_MS);
      await withTimeout(this.store.ping(), PING_TIMEOUT_MS);
      return indicator.up({ configured: true });
    } catch {
      return indicator.down({ configured: true, message: 'The memory store does not answer' });
    }
  }

  /** Whether mem0 is in use: it has an embedder (see MemoryStore.configured). */
  get configured(): boolean {
    return this.store.configured;
  }

  /** True when mem0 is configured and answers. */
  async isUp(): Promise<boolean> {
    return (await this.check('memory_store')).memory_store.status === 'up' && this.store.configured;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
