import { DomainError, ErrorCode } from '@app/common';
import { Injectable } from '@nestjs/common';
import type { Memory } from 'mem0ai/oss';

import { withFactCap } from './fact-cap';
import { Mem0Client } from './mem0.client';
import {
  addHistoryEntry,
  countMemories,
  deleteMemory,
  eraseUser,
  purgeHistory,
} from './mem0-internals';

export interface MemoryRecord {
  id: string;
  memory: string;
  score?: number;
  createdAt?: string;
  updatedAt?: string;
  metadata: Record<string, unknown>;
}

/**
 * One change of a memory. `action`: ADD (learned: `newValue`), UPDATE (its text went from
 * `previousValue` to `newValue`, by an edit or because a newer fact superseded it), or DELETE.
 * Deleting a memory purges its history, so a DELETE row is only ever read on a memory that still
 * exists: learning it retired an older memory it contradicted, whose text is `previousValue`
 * (`newValue` is this memory's text). See docs/architecture.md, "Facts that change".
 */
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
 * The user's long-term memory (Mem0), keyed only by a verified user id. Mem0 treats "*" as
 * "every user" and does not check owners on get/update/delete/history, so this class does.
 */
@Injectable()
export class MemoryStore {
  constructor(private readonly mem0: Mem0Client) {}

  /** Whether memory can be used: searched, listed, edited, erased (see Mem0Client). */
  get configured(): boolean {
    return this.mem0.configured;
  }

  /** Whether memories can be learned from turns: that takes the chat model too. */
  get extracts(): boolean {
    return this.mem0.extracts;
  }

  /**
   * The user's memories that best match `query`, best first. With `minSimilarity`, only those
   * whose vector is at least that close to the query's (cosine), whatever else raised their score.
   */
  async search(
    userId: string,
    query: string,
    limit: number,
    minSimilarity?: number,
  ): Promise<MemoryRecord[]> {
    const found = await this.mem0.search(verified(userId), query, limit, minSimilarity);
    return found.map((item) => toRecord(item as Mem0Item));
  }

  /**
   * Hands turns to Mem0's extraction; at most `maxFacts` new memories come of it. Returns them
   * (Mem0 only ever adds: it neither updates nor deletes on an add).
   */
  async add(
    userId: string,
    messages: { role: string; content: string }[],
    source: MemorySource,
    maxFacts = Number.MAX_SAFE_INTEGER,
  ): Promise<MemoryRecord[]> {
    verified(userId);
    const added = await this.mem0.run((memory) =>
      withFactCap(maxFacts, () => memory.add(messages, { userId, metadata: { ...source } })),
    );
    return added.results.map((item) =>
      toRecord({ ...(item as Mem0Item), metadata: { ...source } }),
    );
  }

  /** How many memories the user has, counted up to `atMost` (enough to compare with a cap). */
  async count(userId: string, atMost: number): Promise<number> {
    verified(userId);
    return this.mem0.run((memory) => countMemories(memory, userId, atMost));
  }

  async list(userId: string): Promise<MemoryRecord[]> {
    verified(userId);
    const all = await this.mem0.run((memory) =>
      memory.getAll({ filters: { user_id: userId }, topK: LIST_LIMIT }),
    );
    return all.results.map((item) => toRecord(item as Mem0Item));
  }

  /** The memory if it exists and is this user's; null otherwise (never another user's). */
  async get(userId: string, memoryId: string): Promise<MemoryRecord | null> {
    verified(userId);
    const item = await this.mem0.run<Mem0Item | null>((memory) =>
      UUID.test(memoryId) ? memory.get(memoryId) : Promise.resolve(null),
    );
    return item && item.user_id === userId ? toRecord(item) : null;
  }

  /** Replaces the text; with `source`, the memory is now said to be learned there instead. */
  async update(
    userId: string,
    memoryId: string,
    text: string,
    source?: MemorySource,
  ): Promise<MemoryRecord> {
    await this.requireOwn(userId, memoryId);
    const metadata = source ? { metadata: { ...source } } : {};
    await this.whileItExists(userId, memoryId, (memory) =>
      memory.update(memoryId, { text, ...metadata }),
    );
    const updated = await this.get(userId, memoryId);
    if (!updated) return this.vanished(memoryId);
    return updated;
  }

  /** Deletes the memory and its history, which would otherwise keep the text (see eraseUser). */
  async delete(userId: string, memoryId: string): Promise<void> {
    await this.requireOwn(userId, memoryId);
    await this.whileItExists(userId, memoryId, (memory) => deleteMemory(memory, memoryId));
  }

  /**
   * Adds a row to the memory's history (read back by `history`) for a change made beside Mem0's
   * own: see MemoryHistoryEntry. A memory deleted meanwhile answers 404, its history purged.
   */
  async recordHistory(
    userId: string,
    memoryId: string,
    entry: Pick<MemoryHistoryEntry, 'action' | 'previousValue' | 'newValue'>,
  ): Promise<void> {
    await this.requireOwn(userId, memoryId);
    await this.mem0.run((memory) => addHistoryEntry(memory, memoryId, entry));
    // Its deleter may have purged the history before this row was written.
    if (!(await this.get(userId, memoryId))) await this.vanished(memoryId);
  }

  /** Forgets everything about the user, as a deleted account does: nothing of the text remains. */
  async deleteAll(userId: string): Promise<void> {
    await this.eraseUser(userId);
  }

  async history(userId: string, memoryId: string): Promise<MemoryHistoryEntry[]> {
    await this.requireOwn(userId, memoryId);
    const rows = (await this.mem0.run((memory) =>
      memory.history(memoryId),
    )) as unknown as Mem0HistoryRow[];
    return rows.map((row) => ({
      id: String(row.id),
      memoryId: row.memory_id,
      previousValue: row.previous_value,
      newValue: row.new_value,
      action: row.action,
      // Mem0 writes an UPDATE row with the memory's creation time and the real time in updated_at.
      createdAt: row.updated_at ?? row.created_at,
    }));
  }

  /**
   * Erases everything Mem0 holds about a deleted user, its history and stored messages included;
   * safe to run again after a failure. Needs no model call. Returns how many memories were erased.
   */
  async eraseUser(userId: string): Promise<number> {
    verified(userId);
    return this.mem0.run((memory) => eraseUser(memory, userId));
  }

  /** Readies Mem0 for the first turn (see Mem0Client.warmUp); no model call. */
  warmUp(): Promise<void> {
    return this.mem0.warmUp();
  }

  /** Touches the vector store without any model call; throws when it is unusable. */
  ping(): Promise<void> {
    return this.mem0.ping();
  }

  /**
   * Runs a write on a memory that another request may delete meanwhile: Mem0 then fails ("not
   * found") or, for an update, writes its history row after the deleter purged it. A memory that
   * is gone afterwards answers 404, and its history is purged once more, when both are done.
   */
  private async whileItExists(
    userId: string,
    memoryId: string,
    write: (memory: Memory) => Promise<unknown>,
  ): Promise<void> {
    try {
      await this.mem0.run(write);
    } catch (error) {
      if (await this.get(userId, memoryId)) throw error;
      await this.vanished(memoryId);
    }
  }

  private async vanished(memoryId: string): Promise<never> {
    await this.mem0.run((memory) => purgeHistory(memory, [memoryId]));
    throw new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');
  }

  private async requireOwn(userId: string, memoryId: string): Promise<void> {
    if (!(await this.get(userId, memoryId))) {
      throw new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');
    }
  }
}

/**
 * The day (YYYY-MM-DD, UTC) the memory's text was learned: its last change (an edit, or a newer
 * fact that superseded it), else its creation; '' when Mem0 gave neither.
 */
export function learnedOn(memory: Pick<MemoryRecord, 'createdAt' | 'updatedAt'>): string {
  const at = Date.parse(memory.updatedAt ?? memory.createdAt ?? '');
  return Number.isNaN(at) ? '' : new Date(at).toISOString().slice(0, 10);
}

/** A user id that must be a real (UUID) id: never "*" or client input. */
function verified(userId: string): string {
  if (!UUID.test(userId)) throw new Error('MemoryStore needs a verified user id');
  return userId;
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
