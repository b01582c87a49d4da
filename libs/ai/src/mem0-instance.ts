import type * as Mem0 from 'mem0ai/oss';
import type { Memory } from 'mem0ai/oss';

import { TextEmbeddings, withLocalEmbeddings } from './local-embedder';
import {
  batchEmbeddings,
  capExtractedFacts,
  shareNlpParses,
  tuneHistoryFile,
} from './mem0-internals';
import { registerSqliteVecStore, registerSqlStores } from './vector-store/register';

type Json = Record<string, unknown>;

/** Mem0 with the project's vector stores registered beside its own. */
async function loadMem0(): Promise<typeof Mem0> {
  const mem0 = await import('mem0ai/oss');
  registerSqliteVecStore(mem0);
  registerSqlStores(mem0);
  return mem0;
}

/**
 * A Mem0 instance on the given configuration, with the project's stores registered (sqlite-vec,
 * and the SQL vector store and history on MySQL/MariaDB),
 * Mem0's SQLite history file tuned, its extraction capped, its embedding requests batched and its
 * NLP parse of a text shared by the two passes that make it. With EMBEDDING_PROVIDER=local,
 * `localEmbeddings` makes its vectors (requests to the OpenAI embedder alone are batched).
 * Loads mem0ai on first use: its telemetry settings must be in the environment before that (the
 * entry points' preload, or the search thread's own setup).
 */
export async function createMem0(
  config: Json,
  synchronous: string,
  localEmbeddings?: TextEmbeddings,
) {
  shareNlpParses();
  const mem0 = await loadMem0();
  const memory: Memory = new mem0.Memory(withLocalEmbeddings(config, localEmbeddings));
  tuneHistoryFile(memory, synchronous);
  capExtractedFacts(memory);
  batchEmbeddings(memory, mem0.OpenAIEmbedder);
  return memory;
}

/**
 * One collection of the configured vector store, as Mem0 would make it, with `config` over the
 * configured store settings (e.g. another collection name or dimension). Not initialized.
 */
export async function openVectorStore(mem0Config: Json, config: Json): Promise<Mem0.VectorStore> {
  const mem0 = await loadMem0();
  const section = mem0Config.vectorStore as { provider: string; config: Json };
  return mem0.VectorStoreFactory.create(section.provider, { ...section.config, ...config });
}

/**
 * The configured embedder, as Mem0 makes it (no batching wrapper: for bulk work); on
 * `localEmbeddings` with EMBEDDING_PROVIDER=local.
 */
export async function createEmbedder(
  mem0Config: Json,
  localEmbeddings?: TextEmbeddings,
): Promise<Mem0.Embedder> {
  const mem0 = await loadMem0();
  const { embedder } = withLocalEmbeddings(mem0Config, localEmbeddings);
  const section = embedder as { provider: string; config: Json };
  return mem0.EmbedderFactory.create(section.provider, section.config);
}
