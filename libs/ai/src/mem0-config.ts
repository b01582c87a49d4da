import { AppConfig } from '@app/config';
import { join } from 'node:path';

import { FUSION } from './fused-search';
import { LOCAL_EMBEDDER_PROVIDER } from './local-embedder';
import { SQL_PROVIDER, SQLITE_VEC_PROVIDER } from './vector-store/register';

type Json = Record<string, unknown>;

export { SQL_PROVIDER };

/** The collection Mem0 keeps memories in; its entities go to `memories_entities`. */
export const COLLECTION_NAME = 'memories';

/**
 * Mem0's configuration, built from the environment: embedder and extraction LLM through the same
 * OpenAI-compatible endpoint (or the embedder on the local model: a marker each thread replaces
 * with its own embeddings, see withLocalEmbeddings), the vector store VECTOR_STORE names, the
 * history where the app's database is (historySection), then MEM0_CONFIG_PATH merged over it
 * (e.g. a reranker). The connection URL of the `sql` providers and the embedded store's file
 * settings are added after the merge, only to the providers that use them.
 */
export function buildMem0Config(config: AppConfig): Json {
  const { apiKey, baseUrl, model, embeddingModel, embeddingDims, timeoutMs } = config.openai;
  const dir = join(config.dataDir, 'mem0');
  const endpoint = { apiKey: apiKey ?? 'not-needed', ...(baseUrl ? { baseURL: baseUrl } : {}) };
  const built: Json = {
    version: 'v1.1',
    embedder:
      config.openai.embeddingProvider === 'local'
        ? { provider: LOCAL_EMBEDDER_PROVIDER, config: { model: embeddingModel, embeddingDims } }
        : { provider: 'openai', config: { ...endpoint, model: embeddingModel, embeddingDims } },
    llm: { provider: 'openai', config: { ...endpoint, model, timeout: timeoutMs } },
    vectorStore: vectorStoreSection(config),
    historyStore: historySection(config, dir),
  };
  const merged = deepMerge(built, config.mem0.overrides);
  const vectorStore = merged.vectorStore as { provider: string; config: Json };
  const historyStore = merged.historyStore as { provider: string; config: Json };
  const url = config.database.url;
  if (vectorStore.provider.toLowerCase() === SQL_PROVIDER) {
    vectorStore.config = { url, ...vectorStore.config };
  }
  if (historyStore.provider.toLowerCase() === SQL_PROVIDER) {
    historyStore.config = { url, ...historyStore.config };
  }
  // The project's stores score keywords the fused search's way (FUSION.bm25) when it ranks.
  const keywords = ourStore(vectorStore.provider) && config.memory.search === 'fused';
  if (keywords) vectorStore.config = { bm25: FUSION.bm25, ...vectorStore.config };
  if (vectorStore.provider.toLowerCase() === SQLITE_VEC_PROVIDER) {
    vectorStore.config = {
      dbPath: join(dir, 'vectors.db'),
      synchronous: config.database.sqliteSynchronous,
      // What mem0's former default (`memory`) store left here is imported once, on first start.
      migrateFrom: {
        memories: join(dir, 'vector_store.db'),
        memories_entities: join(dir, 'vector_store_entities.db'),
      },
      ...vectorStore.config,
    };
  }
  return merged;
}

/** What makes the vectors, and the variables that chose it: for an operator's messages. */
export function embedderSettings(config: AppConfig): { name: string; variables: string } {
  return config.openai.embeddingProvider === 'local'
    ? { name: 'EMBEDDING_PROVIDER=local', variables: 'EMBEDDING_PROVIDER' }
    : {
        name: `EMBEDDING_MODEL=${config.openai.embeddingModel}`,
        variables: 'EMBEDDING_MODEL and EMBEDDING_DIMS',
      };
}

/**
 * The `vectorStore` section for VECTOR_STORE, in each Mem0 provider's own keys: Qdrant reads
 * `url`, `apiKey` and `dimension`; pgvector reads `connectionString` and sizes its table from
 * `embeddingModelDims` (not `dimension`, which only Mem0's entity and probe logic read).
 */
function vectorStoreSection(config: AppConfig): Json {
  const dimension = config.openai.embeddingDims;
  const collection = { collectionName: COLLECTION_NAME, dimension };
  const { qdrant, pgvector } = config.memory;
  switch (config.memory.vectorStore) {
    case 'sql':
      return { provider: SQL_PROVIDER, config: collection };
    case 'qdrant':
      return {
        provider: 'qdrant',
        config: {
          ...collection,
          url: qdrant?.url,
          ...(qdrant?.apiKey ? { apiKey: qdrant.apiKey } : {}),
        },
      };
    case 'pgvector':
      return {
        provider: 'pgvector',
        config: { ...collection, connectionString: pgvector?.url, embeddingModelDims: dimension },
      };
    default:
      return { provider: SQLITE_VEC_PROVIDER, config: collection };
  }
}

/**
 * Mem0's history (every change of a memory, and the raw turns it keeps) lives where the app's
 * data does, whatever the vector store: in the MySQL/MariaDB database (the `sql` history, tables
 * made by the migrations), so that every replica shares it, or in a file under DATA_DIR/mem0.
 */
function historySection(config: AppConfig, dir: string): Json {
  return config.database.kind === 'sqlite'
    ? { provider: 'sqlite', config: { historyDbPath: join(dir, 'history.db') } }
    : { provider: SQL_PROVIDER, config: {} };
}

const ourStore = (provider: string) =>
  [SQL_PROVIDER, SQLITE_VEC_PROVIDER].includes(provider.toLowerCase());

/** Objects merge key by key; anything else in `over` replaces what `base` had. */
export function deepMerge(base: Json, over: Json): Json {
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] =
      isObject(current) && isObject(value) ? deepMerge(current, value) : structuredClone(value);
  }
  return merged;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
