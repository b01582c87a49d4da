import type * as Mem0 from 'mem0ai/oss';

import { SqliteVecStore, type SqliteVecStoreConfig } from './sqlite-vec.store';

/** The provider name that selects {@link SqliteVecStore} in mem0's `vectorStore` config. */
export const SQLITE_VEC_PROVIDER = 'sqlite-vec';

const registered = new WeakSet<object>();

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

/** Compile-time proof that the store meets mem0's interface. */
function asMem0Store(store: SqliteVecStore): Mem0.VectorStore {
  return store;
}
