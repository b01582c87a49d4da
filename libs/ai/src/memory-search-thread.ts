import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface SearchThreadData {
  mem0Config: Record<string, unknown>;
  synchronous: string;
}

export interface SearchRequest {
  id: number;
  userId: string;
  query: string;
  limit: number;
}

export interface SearchReply {
  id: number;
  results?: unknown[];
  error?: { name: string; message: string; status?: number; causeStatus?: number };
}

/** A failure inside the thread, rebuilt with what MemoryStore maps to an answer. */
export class SearchThreadError extends Error {
  constructor(
    readonly failure: NonNullable<SearchReply['error']>,
    readonly status = failure.status,
  ) {
    super(failure.message, {
      cause: failure.causeStatus === undefined ? undefined : { status: failure.causeStatus },
    });
    this.name = failure.name;
  }
}

/**
 * Memory search on a worker thread of its own, with its own Mem0 instance on the same stores (all
 * SQLite files are in WAL mode, so it reads what the main thread's instance wrote). Started on the
 * first search; a thread that dies fails the searches in flight and is started again on the next.
 */
export class MemorySearchThread {
  private readonly logger = new Logger(MemorySearchThread.name);
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (results: unknown[]) => void; reject: (error: Error) => void }
  >();

  constructor(private readonly data: SearchThreadData) {}

  search(userId: string, query: string, limit: number): Promise<unknown[]> {
    const worker = this.running();
    const id = this.nextId++;
    return new Promise<unknown[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, userId, query, limit } satisfies SearchRequest);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('The memory search thread stopped'));
    await worker?.terminate();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    // From the TypeScript sources (tests, ts-node) the thread compiles its entry the same way.
    const typescript = __filename.endsWith('.ts');
    const worker = new Worker(join(__dirname, `memory-search.worker.${typescript ? 'ts' : 'js'}`), {
      workerData: this.data,
      execArgv: typescript ? ['--require', 'ts-node/register/transpile-only'] : [],
    });
    worker.unref();
    worker.on('message', (reply: SearchReply) => this.settle(reply));
    worker.on('error', (error) => {
      this.logger.error({ err: error }, 'Memory search thread failed');
      this.lost(worker, error);
    });
    worker.on('exit', (code) =>
      this.lost(worker, new Error(`Memory search thread exited (${code})`)),
    );
    this.worker = worker;
    return worker;
  }

  private settle(reply: SearchReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.error) waiting.reject(new SearchThreadError(reply.error));
    else waiting.resolve(reply.results ?? []);
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
