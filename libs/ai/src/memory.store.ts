import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Memory } from 'mem0ai/oss';

import { withFactCap } from './fact-cap';
import { buildMem0Config } from './mem0-config';
import { createMem0 } from './mem0-instance';
import { Mem0Thread } from './mem0-thread';

export interface MemoryRecord {
  id: string;
  memory: string;
  score?: number;
  createdAt?: string;
  updatedAt?: string;
  metadata: Record<string, unknown>;
}

export interface MemoryHistoryEntry {
  id: string;
  memoryId: string;
  previousValue: string | null;
  newValue: string | null;
  action: string;
  createdAt: string | null;
}

/** Metadata every memory carries: where it was learned. */
export interface MemorySource {
  session_id: string;
  /** The newest user message of the turns it was learned from. */
  message_id: string;
  /** The extraction job that led the call, and every job whose turn went into it. */
  job_id: string;
  job_ids?: string[];
}

interface Mem0Item {
  id: string;
  memory: string;
  score?: number;
  createdAt?: string;
  updatedAt?: string;
  metadata?: Record<string, unknown>;
  user_id?: string;
}

interface Mem0HistoryRow {
  id: string | number;
  memory_id: string;
  previous_value: string | null;
  new_value: string | null;
  action: string;
  created_at: string | null;
  updated_at: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIST_LIMIT = 10_000;

/**
 * The user's long-term memory (mem0), keyed only by a verified user id. mem0 treats "*" as
 * "every user" and does not check owners on get/update/delete/history, so this class does.
 * Searches (every chat turn makes one) run on a thread of their own, off the event loop.
 */
@Injectable()
export class MemoryStore implements OnApplicationShutdown {
  private readonly logger = new Logger(MemoryStore.name);
  private memory?: Promise<Memory>;
  private searchThread?: Mem0Thread;
  private initialized?: Promise<void>;
  private closed = false;

  constructor(private readonly config: AppConfig) {}

  /** Last in shutdown: turns still in flight during the shutdown hooks before it may search. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const thread = this.searchThread;
    this.searchThread = undefined;
    await thread?.stop();
  }

  /** Mem0 needs the same OpenAI-compatible endpoint as the chat model. */
  get configured(): boolean {
    return this.config.openai.apiKey !== undefined || this.config.openai.baseUrl !== undefined;
  }

  async search(userId: string, query: string, limit: number): Promise<MemoryRecord[]> {
    await this.mem0(userId);
    const thread = await this.startedSearchThread();
    const found = await this.call(() => thread.search(userId, query, limit));
    return found.map((item) => toRecord(item as Mem0Item));
  }

  /** Hands turns to Mem0's extraction; at most `maxFacts` new memories come of it. */
  async add(
    userId: string,
    messages: { role: string; content: string }[],
    source: MemorySource,
    maxFacts = Number.MAX_SAFE_INTEGER,
  ): Promise<void> {
    const memory = await this.mem0(userId);
    await this.call(() =>
      withFactCap(maxFacts, () => memory.add(messages, { userId, metadata: { ...source } })),
    );
  }

  /** How many memories the user has, counted up to `atMost` (enough to compare with a cap). */
  async count(userId: string, atMost: number): Promise<number> {
    const memory = (await this.mem0(userId)) as unknown as Mem0Internals;
    const filters = { user_id: userId };
    return this.call(async () => {
      // Some stores answer the total with a page (ours: one indexed count), others only the
      // page's length: a total larger than a one-row page is a real total.
      const [first, total] = await memory.vectorStore.list(filters, 1);
      if (total > first.length) return total;
      const [rows, pageTotal] = await memory.vectorStore.list(filters, atMost);
      return Math.max(rows.length, pageTotal);
    });
  }

  async list(userId: string): Promise<MemoryRecord[]> {
    const memory = await this.mem0(userId);
    const all = await this.call(() =>
      memory.getAll({ filters: { user_id: userId }, topK: LIST_LIMIT }),
    );
    return all.results.map((item) => toRecord(item as Mem0Item));
  }

  /** The memory if it exists and is this user's; null otherwise (never another user's). */
  async get(userId: string, memoryId: string): Promise<MemoryRecord | null> {
    const memory = await this.mem0(userId);
    if (!UUID.test(memoryId)) return null;
    const item = await this.call<Mem0Item | null>(() => memory.get(memoryId));
    return item && item.user_id === userId ? toRecord(item) : null;
  }

  async update(userId: string, memoryId: string, text: string): Promise<MemoryRecord> {
    await this.requireOwn(userId, memoryId);
    const memory = await this.mem0(userId);
    await this.call(() => memory.update(memoryId, { text }));
    const updated = await this.get(userId, memoryId);
    if (!updated) throw new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');
    return updated;
  }

  /** Deletes the memory and its history, which would otherwise keep the text (see eraseUser). */
  async delete(userId: string, memoryId: string): Promise<void> {
    await this.requireOwn(userId, memoryId);
    const memory = await this.mem0(userId);
    await this.call(async () => {
      await memory.delete(memoryId);
      purgeHistory((memory as unknown as Mem0Internals).db, [memoryId]);
    });
  }

  /** Forgets everything about the user, as a deleted account does: nothing of the text remains. */
  async deleteAll(userId: string): Promise<void> {
    await this.eraseUser(userId);
  }

  async history(userId: string, memoryId: string): Promise<MemoryHistoryEntry[]> {
    await this.requireOwn(userId, memoryId);
    const memory = await this.mem0(userId);
    const rows = (await this.call(() => memory.history(memoryId))) as unknown as Mem0HistoryRow[];
    return rows.map((row) => ({
      id: String(row.id),
      memoryId: row.memory_id,
      previousValue: row.previous_value,
      newValue: row.new_value,
      action: row.action,
      // mem0 writes an UPDATE row with the memory's creation time and the real time in updated_at.
      createdAt: row.updated_at ?? row.created_at,
    }));
  }

  /**
   * Erases everything mem0 holds about a deleted user; safe to run again after a failure.
   * mem0's own `delete`/`deleteAll` leave the text behind in the history store (every ADD/UPDATE
   * row, plus a DELETE row carrying the old text, readable through `history(id)`) and in its
   * `messages` table (the user's recent raw chat turns), and no public API removes either. So the
   * history rows of each memory are purged first, then the vector, then the user's entity rows
   * and stored messages. Each step finds its rows by user id, so a retry finishes what an
   * interrupted attempt started. Needs no model call. Returns how many memories were erased.
   */
  async eraseUser(userId: string): Promise<number> {
    const memory = await this.mem0(userId);
    return this.call(async () => {
      const internals = memory as unknown as Mem0Internals;
      let erased = 0;
      for (;;) {
        const { results } = await memory.getAll({ filters: { user_id: userId }, topK: LIST_LIMIT });
        const ids = results.map((item) => (item as Mem0Item).id);
        if (ids.length === 0) break;
        purgeHistory(internals.db, ids);
        for (const id of ids) await internals.vectorStore.delete(id);
        erased += ids.length;
      }
      const entities = await internals.getEntityStore();
      const [linked] = await entities.list({ user_id: userId }, LIST_LIMIT);
      for (const row of linked) await entities.delete(row.id);
      // A store with a keyword index (the embedded sqlite-vec one) drops the deleted words too.
      for (const store of [internals.vectorStore, entities]) await store.purgeDeleted?.();
      purgeMessages(internals.db, userId);
      return erased;
    });
  }

  /** Touches the vector store without any model call; throws when it is unusable. */
  async ping(): Promise<void> {
    const memory = await this.instance();
    await memory.getAll({ filters: { user_id: '00000000-0000-4000-8000-000000000000' }, topK: 1 });
  }

  /** The search thread, started once the main instance has initialised the stores (and imported). */
  private async startedSearchThread(): Promise<Mem0Thread> {
    this.initialized ??= this.call(() => this.ping()).catch((error: unknown) => {
      this.initialized = undefined;
      throw error;
    });
    await this.initialized;
    if (this.closed) {
      throw new DomainError(
        ErrorCode.MemoryStoreUnavailable,
        'The memory store is unavailable; try again',
      );
    }
    // The thread only searches: the one-time import stays with the main instance.
    this.searchThread ??= new Mem0Thread({
      mem0Config: withoutImport(buildMem0Config(this.config)),
      synchronous: this.config.database.sqliteSynchronous,
    });
    return this.searchThread;
  }

  private async requireOwn(userId: string, memoryId: string): Promise<void> {
    if (!(await this.get(userId, memoryId))) {
      throw new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');
    }
  }

  /** The one mem0 instance, for a user id that must be a real (UUID) id: never "*" or client input. */
  private mem0(userId: string): Promise<Memory> {
    if (!UUID.test(userId)) throw new Error('MemoryStore needs a verified user id');
    return this.instance();
  }

  private instance(): Promise<Memory> {
    if (!this.configured) {
      throw new DomainError(
        ErrorCode.ModelNotConfigured,
        'Memory is not available: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)',
      );
    }
    this.memory ??= createMem0(
      buildMem0Config(this.config),
      this.config.database.sqliteSynchronous,
    );
    return this.memory;
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.warn({ err: error }, 'Memory store call failed');
      // mem0 wraps a failed model call in an LLMError carrying the HTTP error as its cause.
      const failure = error as { name?: string; status?: unknown; cause?: { status?: unknown } };
      const status = failure.status ?? failure.cause?.status;
      if (typeof status !== 'number') {
        throw new DomainError(
          ErrorCode.MemoryStoreUnavailable,
          'The memory store is unavailable; try again',
        );
      }
      throw new DomainError(
        ErrorCode.ModelFailed,
        failure.name === 'LLMError'
          ? 'The model service failed; try again'
          : 'The embedding service failed; try again',
      );
    }
  }
}

function withoutImport(built: Record<string, unknown>): Record<string, unknown> {
  const vectorStore = built.vectorStore as { config?: Record<string, unknown> } | undefined;
  if (vectorStore?.config) delete vectorStore.config.migrateFrom;
  return built;
}

function toRecord(item: Mem0Item): MemoryRecord {
  return {
    id: item.id,
    memory: item.memory,
    score: item.score,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    metadata: item.metadata ?? {},
  };
}

/** The parts of mem0's Memory that erasing needs; its types mark them private. */
interface Mem0Internals {
  db: unknown;
  vectorStore: {
    delete(id: string): Promise<void>;
    purgeDeleted?(): Promise<void>;
    list(filters: Record<string, string>, limit: number): Promise<[unknown[], number]>;
  };
  getEntityStore(): Promise<{
    list(filters: Record<string, string>, limit: number): Promise<[{ id: string }[], number]>;
    delete(id: string): Promise<void>;
    purgeDeleted?(): Promise<void>;
  }>;
}

interface SqliteHandle {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction(fn: () => void): () => void;
}

/**
 * mem0's history providers: SQLite (the default: `memory_history` and `messages` tables), an
 * in-memory map, or none (`disableHistory`). Anything else cannot be erased here, so it throws
 * and the deletion stays visible as pending or failed rather than silently incomplete.
 */
function historyStore(
  db: unknown,
): { kind: 'sqlite'; sql: SqliteHandle } | { kind: 'map'; rows: Map<string, unknown> } | null {
  const candidate = db as { db?: Partial<SqliteHandle>; memoryStore?: unknown };
  if (typeof candidate.db?.prepare === 'function' && typeof candidate.db.transaction === 'function')
    return { kind: 'sqlite', sql: candidate.db as SqliteHandle };
  if (candidate.memoryStore instanceof Map)
    return { kind: 'map', rows: candidate.memoryStore as Map<string, unknown> };
  if ((db as object).constructor.name === 'DummyHistoryManager') return null;
  throw new Error('This mem0 history store cannot be erased');
}

function purgeHistory(db: unknown, memoryIds: string[]): void {
  const store = historyStore(db);
  if (store?.kind === 'sqlite') {
    const remove = store.sql.prepare('DELETE FROM memory_history WHERE memory_id = ?');
    store.sql.transaction(() => memoryIds.forEach((id) => remove.run(id)))();
  } else if (store?.kind === 'map') {
    const ids = new Set(memoryIds);
    for (const [key, row] of store.rows) {
      if (ids.has((row as { memory_id?: string }).memory_id ?? '')) store.rows.delete(key);
    }
  }
}

/** mem0 keys the raw messages it keeps by a scope ending in `user_id=<id>` (keys sorted). */
function purgeMessages(db: unknown, userId: string): void {
  const store = historyStore(db);
  if (store?.kind !== 'sqlite') return;
  const scope = `user_id=${userId}`;
  store.sql
    .prepare(
      'DELETE FROM messages WHERE session_scope = ? OR substr(session_scope, -length(?)) = ?',
    )
    .run(scope, `&${scope}`, `&${scope}`);
}
