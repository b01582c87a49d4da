import type { Memory } from 'mem0ai/oss';

import { capExtractedFacts } from './fact-cap';
import { registerSqliteVecStore } from './vector-store/register';

/**
 * A Mem0 instance on the given configuration, with the project's sqlite-vec store registered and
 * Mem0's SQLite history file tuned. Loads mem0ai on first use: its telemetry settings must be in
 * the environment before that (the entry points' preload, or the search thread's own setup).
 */
export async function createMem0(config: Record<string, unknown>, synchronous: string) {
  const mem0 = await import('mem0ai/oss');
  registerSqliteVecStore(mem0);
  const memory: Memory = new mem0.Memory(config);
  tuneHistoryFile((memory as unknown as { db: unknown }).db, synchronous);
  capExtractedFacts(memory);
  return memory;
}

/**
 * Mem0 opens its SQLite history file with a rollback journal that syncs every write to the disk,
 * on the event loop. A write-ahead log with the app's SQLITE_SYNCHRONOUS setting makes those
 * writes cheap, like the app's own database. Other history stores are left alone.
 */
function tuneHistoryFile(db: unknown, synchronous: string): void {
  const sql = (db as { db?: { pragma?: (source: string) => unknown } }).db;
  if (typeof sql?.pragma !== 'function') return;
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') throw new Error('Bad synchronous mode');
  sql.pragma('journal_mode = WAL');
  sql.pragma(`synchronous = ${synchronous}`);
}
