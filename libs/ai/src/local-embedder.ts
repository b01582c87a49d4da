import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { TextEmbeddings } from './local-model';

export type { TextEmbeddings } from './local-model';

/**
 * The embedder section `buildMem0Config` writes for EMBEDDING_PROVIDER=local. It is a marker, not
 * a Mem0 provider: the configuration crosses into the search thread as plain data, so each thread
 * puts its own embeddings in its place (withLocalEmbeddings) when it makes its Mem0 instance.
 */
export const LOCAL_EMBEDDER_PROVIDER = 'local';

type Json = Record<string, unknown>;

/** The local model behind a thread of its own: what `createLocalEmbedder` gives. */
export interface LocalEmbedder extends TextEmbeddings {
  /** The size of its vectors (512), as the model made them. */
  readonly dimension: number;
  /** Ends the thread; calls made afterwards fail. */
  close(): Promise<void>;
}

/** Whether this Mem0 configuration asks for the local model. */
export function usesLocalEmbedder(mem0Config: Json): boolean {
  const embedder = mem0Config.embedder as { provider?: unknown } | undefined;
  return embedder?.provider === LOCAL_EMBEDDER_PROVIDER;
}

/**
 * The configuration with the `local` marker replaced by Mem0's `langchain` embedder over
 * `embeddings` (it takes any object with embedQuery and embedDocuments). Any other embedder is
 * left as it is; the marker without embeddings is a programming error.
 */
export function withLocalEmbeddings(mem0Config: Json, embeddings?: TextEmbeddings): Json {
  if (!usesLocalEmbedder(mem0Config)) return mem0Config;
  if (!embeddings) throw new Error('EMBEDDING_PROVIDER=local: no local embeddings were given');
  const { config } = mem0Config.embedder as { config?: { embeddingDims?: unknown } };
  return {
    ...mem0Config,
    embedder: {
      provider: 'langchain',
      config: { model: embeddings, embeddingDims: config?.embeddingDims },
    },
  };
}

/**
 * The local model on a thread of its own, started and warmed up (model loaded, kernels compiled):
 * for code that wants vectors without Nest (the CLI's re-embed, an evaluation). Rejects if the
 * model cannot be loaded. Close it when done (it does not hold the process open meanwhile).
 */
export async function createLocalEmbedder(): Promise<LocalEmbedder> {
  const thread = new LocalEmbeddingThread();
  try {
    await thread.warmedUp();
  } catch (error) {
    await thread.close();
    throw error;
  }
  return thread;
}

/** Sent once by the thread: the model is loaded and warmed up, or could not be. */
export interface EmbeddingReady {
  ready: boolean;
  dimension?: number;
  error?: string;
}

export interface EmbeddingRequest {
  id: number;
  texts: string[];
}

/** The vectors of a request, one after the other in `data` (its buffer is transferred). */
export interface EmbeddingReply {
  id: number;
  data?: Float32Array<ArrayBuffer>;
  error?: string;
}

/**
 * The local model, run on a worker thread so that tokenising and inference (milliseconds of CPU per
 * text, hundreds per batch) never run on the caller's event loop. Started on first use (or by
 * `warmedUp`); a thread that dies fails the calls in flight and is started again by the next one.
 * Vectors come back as one transferred Float32Array (the model computes in float32: nothing lost).
 * The thread holds the process open only while it loads or has calls in flight: a CLI run waits
 * for its vectors, an idle server still exits.
 */
export class LocalEmbeddingThread implements LocalEmbedder {
  private worker?: Worker;
  private ready?: Promise<void>;
  private settleReady: (reply: EmbeddingReady | Error) => void = () => undefined;
  private loading = false;
  private size?: number;
  private nextId = 0;
  private closed = false;
  private readonly pending = new Map<
    number,
    { count: number; resolve: (vectors: number[][]) => void; reject: (error: Error) => void }
  >();

  /** Known once the thread has loaded the model. */
  get dimension(): number {
    if (this.size === undefined) throw new Error('The local embedding model is not loaded yet');
    return this.size;
  }

  /** The thread id of the running thread (for tests and diagnostics). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.embedDocuments([text]))[0];
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const worker = this.running();
    await this.ready;
    if (this.worker !== worker) throw new Error('The local embedding thread stopped');
    const id = this.nextId++;
    return new Promise<number[][]>((resolve, reject) => {
      this.pending.set(id, { count: texts.length, resolve, reject });
      this.holdWhileBusy();
      worker.postMessage({ id, texts } satisfies EmbeddingRequest);
    });
  }

  /** Starts the thread if needed; resolves once its model is loaded and warmed up. */
  async warmedUp(): Promise<void> {
    this.running();
    await this.ready;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('The local embedding thread stopped'));
    await worker?.terminate();
  }

  private running(): Worker {
    if (this.closed) throw new Error('The local embedder is closed');
    if (this.worker) return this.worker;
    // From the TypeScript sources (tests, ts-node) the thread compiles its entry the same way.
    const typescript = __filename.endsWith('.ts');
    const worker = new Worker(
      join(__dirname, `local-embedder.worker.${typescript ? 'ts' : 'js'}`),
      {
        execArgv: typescript ? ['--require', 'ts-node/register/transpile-only'] : [],
      },
    );
    this.loading = true;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (reply) => {
        this.settleReady = () => undefined;
        this.loading = false;
        this.holdWhileBusy();
        if (reply instanceof Error) reject(reply);
        else if (reply.ready && reply.dimension) {
          this.size = reply.dimension;
          resolve();
        } else reject(new Error(reply.error ?? 'The local embedding model could not be loaded'));
      };
    });
    // Nobody may wait for it: a failure then shows in the calls instead.
    this.ready.catch(() => undefined);
    worker.on('message', (reply: EmbeddingReply | EmbeddingReady) => {
      if (this.worker !== worker) return;
      if (!('ready' in reply)) return this.settle(reply);
      this.settleReady(reply);
      // A thread that could not load its model answers nothing: the next call starts another.
      if (!reply.ready) {
        this.lost(
          worker,
          new Error(reply.error ?? 'The local embedding model could not be loaded'),
        );
        void worker.terminate();
      }
    });
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) =>
      this.lost(worker, new Error(`The local embedding thread exited (${code})`)),
    );
    this.worker = worker;
    return worker;
  }

  /** Refs the thread while it loads or answers (see the class comment), unrefs it when idle. */
  private holdWhileBusy(): void {
    if (this.loading || this.pending.size > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  private settle(reply: EmbeddingReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    this.holdWhileBusy();
    if (reply.error !== undefined || !reply.data) {
      waiting.reject(new Error(reply.error ?? 'The local embedding thread sent no vectors'));
      return;
    }
    const size = reply.data.length / waiting.count;
    const vectors: number[][] = [];
    for (let i = 0; i < waiting.count; i++) {
      vectors.push(Array.from(reply.data.subarray(i * size, (i + 1) * size)));
    }
    waiting.resolve(vectors);
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    this.settleReady(error);
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    this.holdWhileBusy();
  }
}
