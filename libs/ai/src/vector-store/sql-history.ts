import { createHash, randomUUID } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { inTransaction, mysqlUrl, releasePool, retryingDeadlocks, takePool } from './sql-pool';

export interface SqlHistoryConfig {
  /** mysql://… or mariadb://… : the app's own database, where the migrations made the tables. */
  url: string;
}

/** One row of Mem0's history, as mem0's SQLiteManager answers it. */
export interface HistoryRow {
  id: number;
  memory_id: string;
  previous_value: string | null;
  new_value: string | null;
  action: string;
  created_at: string | null;
  updated_at: string | null;
  is_deleted: number;
}

interface HistoryRecord {
  memoryId: string;
  previousValue: string | null;
  newValue: string | null;
  action: string;
  createdAt?: string;
  updatedAt?: string;
  isDeleted?: number;
}

interface StoredMessage {
  role: string;
  content: string;
  name?: string;
  createdAt: string;
}

/** The tables (libs/database migration 1764800000000-mem0-sql-stores); never made here. */
export const SQL_HISTORY_TABLES = { history: 'mem0_history', messages: 'mem0_messages' } as const;
const H = SQL_HISTORY_TABLES.history;
const M = SQL_HISTORY_TABLES.messages;

/** mem0's SQLiteManager keeps this many raw messages per scope. */
const KEPT_MESSAGES = 10;

/**
 * Mem0's history (every ADD/UPDATE/DELETE of a memory, with the texts) and the raw messages it
 * keeps per scope, on the app's MySQL/MariaDB database: the same methods and answers as mem0's
 * SQLiteManager, so `history(id)` reads the same on every replica. Adds what erasure needs
 * (purgeMemories, purgeMessagesOf), which mem0 has no API for.
 */
export class SqlHistoryManager {
  private readonly url: string;
  private readonly pool: Pool;
  private closed = false;

  constructor(config: SqlHistoryConfig) {
    this.url = mysqlUrl(config.url, 'sql history');
    this.pool = takePool(this.url);
  }

  async addHistory(
    memoryId: string,
    previousValue: string | null,
    newValue: string | null,
    action: string,
    createdAt?: string,
    updatedAt?: string,
    isDeleted = 0,
  ): Promise<void> {
    await this.batchAddHistory([
      { memoryId, previousValue, newValue, action, createdAt, updatedAt, isDeleted },
    ]);
  }

  /** All the records in one statement: they are written together or not at all. */
  async batchAddHistory(records: HistoryRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map((r) => [
      r.memoryId,
      r.previousValue ?? null,
      r.newValue ?? null,
      r.action,
      r.createdAt ?? null,
      r.updatedAt ?? null,
      r.isDeleted ?? 0,
    ]);
    await retryingDeadlocks(() =>
      this.live().query(
        `INSERT INTO ${H}
         (memory_id, previous_value, new_value, action, created_at, updated_at, is_deleted)
         VALUES ?`,
        [rows],
      ),
    );
  }

  /** The memory's history, newest first. */
  async getHistory(memoryId: string): Promise<HistoryRow[]> {
    const [rows] = await this.live().execute<RowDataPacket[]>(
      `SELECT id, memory_id, previous_value, new_value, action, created_at, updated_at, is_deleted
       FROM ${H} WHERE memory_id = ? ORDER BY id DESC`,
      [memoryId],
    );
    return rows.map((row) => ({ ...row, id: Number(row.id) }) as HistoryRow);
  }

  /**
   * Stores the messages under the scope and keeps only its newest ten, as SQLiteManager does. The
   * scope's `user_id=` part is kept in a column of its own, for erasure. Saves of one scope take
   * turns (a named lock): two at once would each count the newest ten without the other's rows.
   */
  async saveMessages(
    messages: { role: string; content: string; name?: string }[],
    sessionScope: string,
  ): Promise<void> {
    if (messages.length === 0) return;
    const now = new Date().toISOString();
    const owner = scopeUser(sessionScope);
    const rows = messages.map((m) => [
      randomUUID(),
      sessionScope,
      owner,
      m.role,
      m.content,
      m.name ?? null,
      now,
    ]);
    const lock = `mem0_messages:${createHash('sha1').update(sessionScope).digest('hex')}`;
    await retryingDeadlocks(() =>
      inTransaction(
        this.live(),
        async (connection) => {
          await connection.query(
            `INSERT INTO ${M} (id, session_scope, owner, role, content, name, created_at) VALUES ?`,
            [rows],
          );
          // The newest ten by time, the later insert first on a tie; everything older goes.
          const [kept] = await connection.execute<RowDataPacket[]>(
            `SELECT seq, created_at FROM ${M} WHERE session_scope = ?
           ORDER BY created_at DESC, seq DESC LIMIT ${KEPT_MESSAGES - 1}, 1`,
            [sessionScope],
          );
          if (kept.length === 0) return;
          const { seq, created_at: at } = kept[0] as { seq: number; created_at: string };
          await connection.execute(
            `DELETE FROM ${M} WHERE session_scope = ?
           AND (created_at < ? OR (created_at = ? AND seq < ?))`,
            [sessionScope, at, at, seq],
          );
        },
        lock,
      ),
    );
  }

  /** The scope's newest `limit` messages, oldest first. */
  async getLastMessages(sessionScope: string, limit = KEPT_MESSAGES): Promise<StoredMessage[]> {
    const count = Math.max(0, Math.floor(limit));
    const [rows] = await this.live().execute<RowDataPacket[]>(
      `SELECT role, content, name, created_at FROM ${M} WHERE session_scope = ?
       ORDER BY created_at DESC, seq DESC LIMIT ${count}`,
      [sessionScope],
    );
    return rows.reverse().map((r) => ({
      role: r.role as string,
      content: r.content as string,
      ...(r.name != null ? { name: r.name as string } : {}),
      createdAt: r.created_at as string,
    }));
  }

  /** Empties the history and the messages (the tables stay: they belong to the migrations). */
  async reset(): Promise<void> {
    await this.live().query(`DELETE FROM ${H}`);
    await this.live().query(`DELETE FROM ${M}`);
  }

  /** Erasure: every history row of these memories. */
  async purgeMemories(memoryIds: string[]): Promise<void> {
    if (memoryIds.length === 0) return;
    await retryingDeadlocks(() =>
      this.live().query(`DELETE FROM ${H} WHERE memory_id IN (?)`, [memoryIds]),
    );
  }

  /**
   * Erasure: the raw messages of every scope whose user is `userId` (`user_id=<id>`, alone or
   * after agent_id/run_id: mem0 sorts the keys, so it always comes last).
   */
  async purgeMessagesOf(userId: string): Promise<void> {
    await retryingDeadlocks(() =>
      this.live().execute(`DELETE FROM ${M} WHERE owner = ?`, [escapeScopeValue(userId)]),
    );
  }

  /** Gives the thread's pool back; the last store or history to do so closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await releasePool(this.url);
  }

  private live(): Pool {
    if (this.closed) throw new Error('sql history: closed');
    return this.pool;
  }
}

/** The `user_id=` value of a mem0 session scope (`agent_id=…&run_id=…&user_id=…`), as written. */
function scopeUser(scope: string): string | null {
  const match = /(?:^|&)user_id=([^&]*)$/.exec(scope);
  return match ? match[1] : null;
}

/** mem0's `escapeScopeValue`: how a user id appears inside a scope. */
function escapeScopeValue(value: string): string {
  return value.replace(/%/g, '%25').replace(/&/g, '%26').replace(/=/g, '%3D');
}
