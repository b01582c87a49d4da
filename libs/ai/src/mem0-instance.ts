import type { Memory } from 'mem0ai/oss';

import {
  batchEmbeddings,
  capExtractedFacts,
  shareNlpParses,
  tuneHistoryFile,
} from './mem0-internals';
import { registerSqliteVecStore, registerSqlStores } from './vector-store/register';

/**
 * A Mem0 instance on the given configuration, with the project's stores registered (sqlite-vec,
 * and the SQL vector store and history on MySQL/MariaDB),
 * Mem0's SQLite history file tuned, its extraction capped, its embedding requests batched and its
 * NLP parse of a text shared by the two passes that make it.
 * Loads mem0ai on first use: its telemetry settings must be in the environment before that (the
 * entry points' preload, or the search thread's own setup).
 */
export async function createMem0(config: Record<string, unknown>, synchronous: string) {
  shareNlpParses();
  const mem0 = await import('mem0ai/oss');
  registerSqliteVecStore(mem0);
  registerSqlStores(mem0);
  const memory: Memory = new mem0.Memory(config);
  tuneHistoryFile(memory, synchronous);
  capExtractedFacts(memory);
  batchEmbeddings(memory, mem0.OpenAIEmbedder);
  return memory;
}
