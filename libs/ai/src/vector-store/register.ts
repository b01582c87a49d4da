import type * as Mem0 from 'mem0ai/oss';

import { SqlHistoryManager, type SqlHistoryConfig } from './sql-history';
import { SqlVectorStore, type SqlVectorStoreConfig } from './sql.store';
import { SqliteVecStore, type SqliteVecStoreConfig } from './sqlite-vec.store';

/** The provider name that selects {@link SqliteVecStore} in mem0's `vectorStore` config. */
export const SQLITE_VEC_PROVIDER = 'sqlite-vec';

/** The provider name that selects the SQL stores (vectors and history) in mem0's config. */
export const SQL_PROVIDER = 'sql';

type Mem0VectorStore = Mem0.VectorStore;
type Mem0History = ReturnType<typeof Mem0.HistoryManagerFactory.create>;

/** A mem0 factory: a class whose static `create(provider, config)` builds what config names. */
interface Factory<Config, Made> {
  create(provider: string, config: Config): Made;
}

/** The provider names already added to each factory, so that registering again changes nothing. */
const provided = new WeakMap<object, Set<string>>();

/**
 * mem0 has no plug-in registry: every store (the entity collection included) and the history
 * come from its exported factories' static `create`. So `create` is wrapped: `provider` builds
 * with `make`, every other name still reaches mem0's own factory untouched. Idempotent.
 */
function provide<Config, Made>(
  factory: Factory<Config, Made>,
  provider: string,
  make: (config: Config) => Made,
): void {
  const names = provided.get(factory) ?? new Set<string>();
  if (names.has(provider)) return;
  const create = factory.create.bind(factory);
  factory.create = (name, config) =>
    name.toLowerCase() === provider ? make(config) : create(name, config);
  provided.set(factory, names.add(provider));
}

/** Makes mem0 build a {@link SqliteVecStore} for `vectorStore.provider: "sqlite-vec"`. */
export function registerSqliteVecStore(mem0: Pick<typeof Mem0, 'VectorStoreFactory'>): void {
  provide(mem0.VectorStoreFactory, SQLITE_VEC_PROVIDER, (config): Mem0VectorStore => {
    return new SqliteVecStore(config as SqliteVecStoreConfig);
  });
}

/**
 * Makes mem0 build a {@link SqlVectorStore} for `vectorStore.provider: "sql"` and a
 * {@link SqlHistoryManager} for `historyStore.provider: "sql"`.
 */
export function registerSqlStores(
  mem0: Pick<typeof Mem0, 'VectorStoreFactory' | 'HistoryManagerFactory'>,
): void {
  provide(mem0.VectorStoreFactory, SQL_PROVIDER, (config): Mem0VectorStore => {
    return new SqlVectorStore(config as SqlVectorStoreConfig);
  });
  provide(mem0.HistoryManagerFactory, SQL_PROVIDER, (config): Mem0History => {
    return new SqlHistoryManager(config.config as unknown as SqlHistoryConfig);
  });
}
