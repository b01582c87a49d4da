import { AppConfig } from '@app/config';
import { join } from 'node:path';

import { SQL_PROVIDER, SQLITE_VEC_PROVIDER } from './vector-store/register';

type Json = Record<string, unknown>;

/**
 * Mem0's configuration, built from the environment: embedder and extraction LLM through the same
 * OpenAI-compatible endpoint, the stores where the app's database is (see defaultStores), then
 * MEM0_CONFIG_PATH merged over it (e.g. a Qdrant or pgvector vector store, a reranker). Choosing
 * another vector store drops the default store's file or connection settings.
 */
export function buildMem0Config(config: AppConfig): Json {
  const { apiKey, baseUrl, model, embeddingModel, embeddingDims, timeoutMs } = config.openai;
  const dir = join(config.dataDir, 'mem0');
  const endpoint = { apiKey: apiKey ?? 'not-needed', ...(baseUrl ? { baseURL: baseUrl } : {}) };
  const built: Json = {
    version: 'v1.1',
    embedder: {
      provider: 'openai',
      config: { ...endpoint, model: embeddingModel, embeddingDims },
    },
    llm: { provider: 'openai', config: { ...endpoint, model, timeout: timeoutMs } },
    ...defaultStores(config, dir),
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

/**
 * On a MySQL/MariaDB app database, Mem0's vectors, entities and history live in that database
 * (the `sql` stores, tables made by the migrations), so that every replica shares them; on
 * SQLite, in files under DATA_DIR/mem0. The connection URL is added after the merge, and only
 * for the `sql` providers.
 */
function defaultStores(config: AppConfig, dir: string): Json {
  const collection = { collectionName: 'memories', dimension: config.openai.embeddingDims };
  if (config.database.kind !== 'sqlite') {
    return {
      vectorStore: { provider: SQL_PROVIDER, config: collection },
      historyStore: { provider: SQL_PROVIDER, config: {} },
    };
  }
  return {
    vectorStore: { provider: SQLITE_VEC_PROVIDER, config: collection },
    historyStore: { provider: 'sqlite', config: { historyDbPath: join(dir, 'history.db') } },
  };
}

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
