import { buildMem0Config } from '@app/ai/mem0-config';
import { createEmbedder, createMem0, openVectorStore } from '@app/ai/mem0-instance';
import { closeStores, eraseUser, warmUpSearch } from '@app/ai/mem0-internals';
import { SQL_PROVIDER, SQLITE_VEC_PROVIDER } from '@app/ai/vector-store/register';
import { AppConfig, loadConfig, MemorySearchMode } from '@app/config';
import { dataSourceOptions, migrateSchema } from '@app/database';
import type { Memory } from 'mem0ai/oss';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

import { LangchainEmbeddings, LOCAL_DIMS, LOCAL_MODEL } from './embedders';

type Json = Record<string, unknown>;

/** The three configurations compared, over the same embeddings. */
export type ConfigurationName = 'default' | 'memory' | 'vector';
export const CONFIGURATIONS: ConfigurationName[] = ['default', 'memory', 'vector'];

/** How the run reaches an embedder and Mem0's (never called) model. */
export interface Endpoints {
  /** The OpenAI-compatible test double: Mem0's LLM, and with `--embedder double` its embedder. */
  doubleUrl: string;
  /** The local model (`--embedder local`); undefined: the double's hashed bag of words. */
  local?: LangchainEmbeddings;
}

/**
 * The app's own configuration for the run (loadConfig, as the API builds it): the embedded SQLite
 * default under `dataDir`, or the MySQL/MariaDB database `databaseUrl` (VECTOR_STORE then defaults
 * to the `sql` store), Mem0's model and embedder at the test double.
 */
export function appConfig(
  dataDir: string,
  endpoints: Endpoints,
  databaseUrl?: string,
  search?: MemorySearchMode,
): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_SECRET: 'eval-'.padEnd(40, 'x'),
    OPENAI_API_KEY: 'eval',
    OPENAI_BASE_URL: endpoints.doubleUrl,
    ...(endpoints.local
      ? { EMBEDDING_MODEL: LOCAL_MODEL, EMBEDDING_DIMS: String(LOCAL_DIMS) }
      : {}),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(search ? { MEMORY_SEARCH: search } : {}),
  });
}

/** Applies the app's migrations to a MySQL/MariaDB database (the `sql` store needs its tables). */
export async function migrate(config: AppConfig): Promise<void> {
  const dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
  try {
    await migrateSchema(dataSource, { mode: 'run', timeoutSeconds: 120 });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Mem0's configuration as the app builds it (buildMem0Config), with the local embedder in place of
 * the OpenAI-compatible one when there is one. Held objects (the model) are never cloned.
 */
export function productMem0Config(config: AppConfig, endpoints: Endpoints): Json {
  const built = buildMem0Config(config);
  if (endpoints.local) {
    built.embedder = {
      provider: 'langchain',
      config: { model: endpoints.local, embeddingDims: LOCAL_DIMS },
    };
  }
  return built;
}

/** One sample's stores: the configurations' Mem0 instances, and a handle on the default store. */
export interface SampleStores {
  /** (a) Mem0 on the app's default store. */
  default: Memory;
  /** (b) Mem0 on its own `memory` store. */
  memory: Memory;
  /** (c) the default store's vector search alone, with Mem0's embedder. */
  vector: {
    search(query: string, topK: number, userId: string): Promise<{ payload: Json }[]>;
  };
  /** The app's default store, as named in the table ("sqlite-vec" or "sql"). */
  defaultStore: string;
  close(): Promise<void>;
}

/**
 * Fresh stores for one sample, so that a sample's figures do not depend on which others run with
 * it: (a) the app's default store (a sqlite-vec file of its own; on MySQL/MariaDB a collection of
 * its own in the `sql` store), (b) Mem0's `memory` store (a file of its own). Both are made by the
 * app's createMem0 (its wrappers: shared NLP parses, batched OpenAI embeddings) and warmed up as
 * the search thread warms its instance.
 */
export async function openSampleStores(
  base: Json,
  options: { dir: string; collection: string; synchronous: string; dimension: number },
): Promise<SampleStores> {
  const defaultConfig = withVectorStore(base, (section) => {
    const config = { ...section.config };
    delete config.migrateFrom; // nothing to import into a fresh store
    if (section.provider === SQLITE_VEC_PROVIDER) config.dbPath = join(options.dir, 'vectors.db');
    else if (section.provider === SQL_PROVIDER) config.collectionName = options.collection;
    else throw new Error(`The eval runs on sqlite-vec or sql, not ${section.provider}`);
    return { provider: section.provider, config };
  });
  const memoryConfig = withVectorStore(base, (section) => ({
    provider: 'memory',
    config: {
      collectionName: section.config.collectionName,
      dimension: options.dimension,
      dbPath: join(options.dir, 'vector_store.db'),
    },
  }));
  const [a, b] = [
    await createMem0(defaultConfig, options.synchronous),
    await createMem0(memoryConfig, options.synchronous),
  ];
  await warmUpSearch(a, options.dimension);
  await warmUpSearch(b, options.dimension);
  // A second handle on (a)'s collection, and the embedder Mem0 makes from the same section.
  const store = await openVectorStore(defaultConfig, {});
  await store.initialize();
  const embedder = await createEmbedder(defaultConfig);
  return {
    default: a,
    memory: b,
    vector: {
      search: async (query, topK, userId) =>
        store.search(await embedder.embed(query), topK, { user_id: userId }),
    },
    defaultStore: (defaultConfig.vectorStore as { provider: string }).provider,
    async close() {
      await (store as { close?: () => unknown }).close?.();
      await closeStores(a);
      await closeStores(b);
    },
  };
}

/** Erases a sample's memories, history included (for a database the run does not own). */
export async function eraseSample(stores: SampleStores, userId: string): Promise<void> {
  await eraseUser(stores.default, userId);
  await eraseUser(stores.memory, userId);
}

function withVectorStore(
  base: Json,
  change: (section: { provider: string; config: Json }) => { provider: string; config: Json },
): Json {
  return { ...base, vectorStore: change(base.vectorStore as { provider: string; config: Json }) };
}
