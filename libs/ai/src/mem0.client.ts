import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Memory } from 'mem0ai/oss';

import { LocalEmbeddingThread, usesLocalEmbedder } from './local-embedder';
import { buildMem0Config, embedderSettings } from './mem0-config';
import { describeMem0Failure, Mem0Failure } from './mem0-failure';
import { createMem0 } from './mem0-instance';
import { closeStores, warmUpExtraction } from './mem0-internals';
import { Mem0Thread } from './mem0-thread';
import { checkVectorStore } from './vector-store-check';

const UNAVAILABLE = 'The memory store is unavailable; try again';

/**
 * Mem0 itself: one instance on this thread, created on first use, and one search thread with an
 * instance of its own (Mem0's search is mostly synchronous work, kept off the event loop). Every
 * Mem0 failure leaves here as a DomainError. Knows nothing of users: MemoryStore checks them.
 * `warmUp` makes both ahead of the first turn (the API's readiness waits for it). The start
 * (API, worker) stops when the vector store cannot serve this embedder (see checkVectorStore).
 * With EMBEDDING_PROVIDER=local this thread's instance embeds on a thread of its own (the model's
 * work is CPU), and the search thread runs its own copy of the model.
 */
@Injectable()
export class Mem0Client implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(Mem0Client.name);
  private memory?: Promise<Memory>;
  private searchThread?: Mem0Thread;
  /** The local model's thread, for this thread's instance (EMBEDDING_PROVIDER=local). */
  private embeddingThread?: LocalEmbeddingThread;
  private initialized?: Promise<void>;
  private warming?: Promise<void>;
  private closed = false;

  constructor(private readonly config: AppConfig) {}

  /**
   * A store of another embedding size would fail every memory call: the process refuses to start
   * instead, saying how to re-embed. Without an embedder Mem0 is never used: nothing is checked.
   */
  async onModuleInit(): Promise<void> {
    if (!this.configured) return;
    await checkVectorStore(buildMem0Config(this.config), embedderSettings(this.config));
  }

  /**
   * Last in shutdown: turns still in flight during the shutdown hooks before it may search. Then
   * this thread's instance gives back its stores (the SQL stores' pool would keep the process
   * alive); the search thread's go with the thread.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const thread = this.searchThread;
    this.searchThread = undefined;
    await thread?.stop();
    const memory = this.memory;
    this.memory = undefined;
    const made = await memory?.catch(() => undefined);
    if (made) await closeStores(made);
    await this.embeddingThread?.close();
  }

  /**
   * Whether Mem0 can be used at all: it needs an embedder, the OpenAI-compatible endpoint's or the
   * local model. Searching, listing, editing and erasing need nothing more.
   */
  get configured(): boolean {
    return this.config.openai.embeddingProvider === 'local' || this.extracts;
  }

  /** Whether Mem0 can extract memories: that needs the chat model's endpoint, whatever embeds. */
  get extracts(): boolean {
    return this.config.openai.apiKey !== undefined || this.config.openai.baseUrl !== undefined;
  }

  /** Runs `operation` on this thread's instance. */
  async run<T>(operation: (memory: Memory) => Promise<T>): Promise<T> {
    const memory = await this.instance();
    return this.call(() => operation(memory));
  }

  /**
   * Searches on the search thread (started once this thread's instance has set the stores up).
   * `threshold`: the least cosine similarity of a result (Mem0's default, 0.1, without).
   */
  async search(
    userId: string,
    query: string,
    limit: number,
    threshold?: number,
  ): Promise<unknown[]> {
    await this.instance();
    const thread = await this.startedSearchThread();
    return this.call(() => thread.search(userId, query, limit, threshold));
  }

  /**
   * Makes this thread's instance and the search thread's, and runs on each what the first search
   * or extraction would otherwise initialise on a user's turn (module loads, Mem0's NLP, the
   * stores' first queries), without any model call. Once resolved, a turn initialises nothing
   * lazily. Started once; a failed warm-up is tried again by the next call.
   */
  warmUp(): Promise<void> {
    this.warming ??= this.warmBoth().catch((error: unknown) => {
      this.warming = undefined;
      throw error;
    });
    return this.warming;
  }

  private async warmBoth(): Promise<void> {
    const memory = await this.instance();
    const thread = await this.startedSearchThread();
    // The local model's thread serves this instance's adds and edits: loaded ahead only where
    // extraction runs (a copy of the model costs memory), else by the first edit.
    const embeddings = this.config.memoryJobs.workersEnabled && this.extracts;
    await Promise.all([
      this.call(() => thread.warmedUp()),
      warmUpExtraction(memory),
      embeddings && this.embeddingThread && this.call(() => this.embeddingThread!.warmedUp()),
    ]);
  }

  /** Touches the vector store without any model call; throws when it is unusable. */
  async ping(): Promise<void> {
    const memory = await this.instance();
    await memory.getAll({ filters: { user_id: '00000000-0000-4000-8000-000000000000' }, topK: 1 });
  }

  private async startedSearchThread(): Promise<Mem0Thread> {
    this.initialized ??= this.call(() => this.ping()).catch((error: unknown) => {
      this.initialized = undefined;
      throw error;
    });
    await this.initialized;
    if (this.closed) throw new DomainError(ErrorCode.MemoryStoreUnavailable, UNAVAILABLE);
    // The thread only searches: the one-time import stays with this thread's instance.
    if (!this.searchThread) {
      const mem0Config = withoutImport(buildMem0Config(this.config));
      const embedder = mem0Config.embedder as { config?: { embeddingDims?: unknown } } | undefined;
      const dims = embedder?.config?.embeddingDims;
      this.searchThread = new Mem0Thread({
        mem0Config,
        synchronous: this.config.database.sqliteSynchronous,
        dimension: typeof dims === 'number' ? dims : this.config.openai.embeddingDims,
        search: this.config.memory.search,
      });
    }
    return this.searchThread;
  }

  private instance(): Promise<Memory> {
    if (this.closed) throw new DomainError(ErrorCode.MemoryStoreUnavailable, UNAVAILABLE);
    if (!this.configured) {
      throw new DomainError(
        ErrorCode.ModelNotConfigured,
        'Memory is not available: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible ' +
          'server), or EMBEDDING_PROVIDER=local',
      );
    }
    if (!this.memory) {
      const mem0Config = buildMem0Config(this.config);
      if (usesLocalEmbedder(mem0Config)) this.embeddingThread ??= new LocalEmbeddingThread();
      this.memory = createMem0(
        mem0Config,
        this.config.database.sqliteSynchronous,
        this.embeddingThread,
      );
    }
    return this.memory;
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.warn({ err: error }, 'Memory store call failed');
      throw answerFor(describeMem0Failure(error));
    }
  }
}

/** A failed model or embedding request is the upstream's fault (502); anything else is ours. */
export function answerFor(failure: Mem0Failure): DomainError {
  if (failure.status === undefined)
    return new DomainError(ErrorCode.MemoryStoreUnavailable, UNAVAILABLE);
  return new DomainError(
    ErrorCode.ModelFailed,
    failure.name === 'LLMError'
      ? 'The model service failed; try again'
      : 'The embedding service failed; try again',
  );
}

function withoutImport(built: Record<string, unknown>): Record<string, unknown> {
  const vectorStore = built.vectorStore as { config?: Record<string, unknown> } | undefined;
  if (vectorStore?.config) delete vectorStore.config.migrateFrom;
  return built;
}
