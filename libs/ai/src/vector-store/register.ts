import type * as Mem0 from 'mem0ai/oss';

import { SqlHistoryManager, type SqlHistoryConfig } from './sql-history';
import { SqlVectorStore, type SqlVectorStoreConfig } from './sql.store';
import { SqliteVecStore, type SqliteVecStoreConfig } from './sqlite-vec.store';

/** The provider name that selects {@link SqliteVecStore} in mem0's `vectorStore` config. */
export const SQLITE_VEC_PROVIDER = 'sqlite-vec';

const registered = new WeakSet<object>();
const sqlRegistered = new WeakSet<object>();

/**
 * Makes mem0 build a {@link SqliteVecStore} for `vectorStore.provider: "sqlite-vec"`. mem0 has no
 * plug-in registry: every store, the entity collection included, comes from its exported
 * `VectorStoreFactory.create`, so that one static is wrapped; every other provider name still
 * reaches mem0's own factory untouched. Idempotent.
 */
export function registerSqliteVecStore(mem0: Pick<typeof Mem0, 'VectorStoreFactory'>): void {
  const factory = mem0.VectorStoreFactory;
  if (registered.has(factory)) return;
  const create = factory.create.bind(factory);
  factory.create = (provider, config) =>
    provider.toLowerCase() === SQLITE_VEC_PROVIDER
      ? asMem0Store(new SqliteVecStore(config as SqliteVecStoreConfig))
      : create(provider, config);
  registered.add(factory);
}

/** Compile-time proof that the stores meet mem0's interface. */
function asMem0Store(store: SqliteVecStore | SqlVectorStore): Mem0.VectorStore {
  return store;
}

/** The provider name that selects the SQL stores (vectors and history) in mem0's config. */
export const SQL_PROVIDER = 'sql';

/**
 * Makes mem0 build a {@link SqlVectorStore} for `vectorStore.provider: "sql"` and a
 * {@link SqlHistoryManager} for `historyStore.provider: "sql"`, by wrapping its exported
 * factories' `create` as registerSqliteVecStore does; other providers reach mem0 untouched.
 * Idempotent.
 */
export function registerSqlStores(
  mem0: Pick<typeof Mem0, 'VectorStoreFactory' | 'HistoryManagerFactory'>,
): void {
  const vectors = mem0.VectorStoreFactory;
  if (!sqlRegistered.has(vectors)) {
    const create = vectors.create.bind(vectors);
    vectors.create = (provider, config) =>
      provider.toLowerCase() === SQL_PROVIDER
        ? asMem0Store(new SqlVectorStore(config as SqlVectorStoreConfig))
        : create(provider, config);
    sqlRegistered.add(vectors);
  }
  const history = mem0.HistoryManagerFactory;
  if (!sqlRegistered.has(history)) {
    const create = history.create.bind(history);
    history.create = (provider, config) =>
      provider.toLowerCase() === SQL_PROVIDER
        ? asMem0History(new SqlHistoryManager(config.config as unknown as SqlHistoryConfig))
        : create(provider, config);
    sqlRegistered.add(history);
  }
}

function asMem0History(
  history: SqlHistoryManager,
): ReturnType<typeof Mem0.HistoryManagerFactory.create> {
  return history;
}
