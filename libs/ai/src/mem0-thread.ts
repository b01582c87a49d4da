import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { MemorySearchMode } from '../../config/src/app-config';
import { Mem0Error, Mem0Failure } from './mem0-failure';

export interface Mem0ThreadData {
  mem0Config: Record<string, unknown>;
  synchronous: string;
  /** Of the embedder's vectors: the warm-up's stand-in embedder makes vectors of this size. */
  dimension: number;
  /** MEMORY_SEARCH: how the thread ranks (see memory-search.ts). */
  search: MemorySearchMode;
}

export interface Mem0Request {
  id: number;
  userId: string;
  query: string;
  limit: number;
  /** The least semantic (cosine) similarity a result may have; Mem0's default (0.1) without. */
  threshold?: number;
}

/** Sent once, when the thread's instance has been made and warmed up (or could not be). */
export interface Mem0Ready {
  ready: boolean;
  error?: Mem0Failure;
}

export interface Mem0Reply {
  id: number;
  results?: unknown[];
  error?: Mem0Failure;
}

/** How long calls fail with the reason a thread could not make its instance before another starts. */
export const MEM0_THREAD_RESTART_DELAY_MS = 5_000;

/**
 * A worker thread with its own Mem0 instance on the same stores (every SQLite file is in WAL
 * mode, so it reads what other instances wrote), so that Mem0's synchronous work runs beside the
 * event loop. Started on first use (or by `warmedUp`); a thread that dies fails the calls in
 * flight and is started again on the next. A thread that could not make its instance (its copy of
 * the local model failed to load, say) is ended too, and the calls of the next `restartDelayMs`
 * fail at once with its reason: a cause that lasts costs one thread start per delay, not one per
 * search. A failed search rejects with a Mem0Error.
 */
export class Mem0Thread {
  private readonly logger = new Logger(Mem0Thread.name);
  private worker?: Worker;
  /** Settles when the current worker's instance is made and warmed up. */
  private ready?: { promise: Promise<void>; settle: (reply: Mem0Ready | Error) => void };
  /** Whether the running thread's instance is made and warmed up. */
  warm = false;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (results: unknown[]) => void; reject: (error: Error) => void }
  >();

  /** Why the last thread could not make its instance, until another may be started. */
  private failed?: { error: Mem0Error; until: number };

  constructor(
    private readonly data: Mem0ThreadData,
    private readonly restartDelayMs = MEM0_THREAD_RESTART_DELAY_MS,
  ) {}

  /** The thread id of the running thread (for tests and diagnostics). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  search(userId: string, query: string, limit: number, threshold?: number): Promise<unknown[]> {
    const failed = this.stillFailed();
    if (failed) return Promise.reject(failed);
    const worker = this.running();
    const id = this.nextId++;
    return new Promise<unknown[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, userId, query, limit, threshold } satisfies Mem0Request);
    });
  }

  /**
   * Starts the thread if it is not running, and resolves once its instance has been made and has
   * run what a first search would otherwise initialise; rejects (Mem0Error) if it could not.
   */
  warmedUp(): Promise<void> {
    const failed = this.stillFailed();
    if (failed) return Promise.reject(failed);
    this.running();
    return this.ready!.promise;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.warm = false;
    this.failAll(new Error('The Mem0 thread stopped'));
    await worker?.terminate();
  }

  /** Why the last thread could not start, while no other may be started yet. */
  private stillFailed(): Mem0Error | undefined {
    if (this.worker || !this.failed) return undefined;
    if (performance.now() < this.failed.until) return this.failed.error;
    this.failed = undefined;
    return undefined;
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    // From the TypeScript sources (tests, ts-node) the thread compiles its entry the same way.
    const typescript = __filename.endsWith('.ts');
    const worker = new Worker(join(__dirname, `mem0.worker.${typescript ? 'ts' : 'js'}`), {
      workerData: this.data,
      execArgv: typescript ? ['--require', 'ts-node/register/transpile-only'] : [],
    });
    let settle: (reply: Mem0Ready | Error) => void = () => undefined;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (reply) => {
        if (reply instanceof Error) reject(reply);
        else if (reply.ready) {
          if (this.worker === worker) this.warm = true;
          resolve();
        } else
          reject(new Mem0Error(reply.error ?? { name: 'Error', message: 'Mem0 thread failed' }));
      };
    });
    // Nobody may wait for it: a failure then shows in the searches instead.
    promise.catch(() => undefined);
    this.ready = { promise, settle };
    worker.on('message', (reply: Mem0Reply | Mem0Ready) => {
      if (this.worker !== worker) return;
      if (!('ready' in reply)) return this.settle(reply);
      settle(reply);
      if (!reply.ready) {
        // It would answer every search with this failure: end it, and start another later.
        const error = new Mem0Error(
          reply.error ?? { name: 'Error', message: 'Mem0 thread failed' },
        );
        this.logger.error({ err: error }, 'Mem0 thread could not start');
        this.failed = { error, until: performance.now() + this.restartDelayMs };
        this.lost(worker, error);
        void worker.terminate();
      }
    });
    worker.on('error', (error) => {
      this.logger.error({ err: error }, 'Mem0 thread failed');
      this.lost(worker, error);
    });
    worker.on('exit', (code) => this.lost(worker, new Error(`Mem0 thread exited (${code})`)));
    // After the listeners: a 'message' listener added later would hold the process open again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: Mem0Reply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.error) waiting.reject(new Mem0Error(reply.error));
    else waiting.resolve(reply.results ?? []);
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.warm = false;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    this.ready?.settle(error);
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
