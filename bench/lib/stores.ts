import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './server';
import { DIMS } from './vectors';

/** The part of mem0's VectorStore interface the benchmark calls. */
export interface BenchStore {
  label: string;
  insert(vectors: number[][], ids: string[], payloads: Record<string, unknown>[]): Promise<void>;
  search(query: number[], topK: number, filters: Record<string, unknown>): Promise<unknown[]>;
  keywordSearch(
    query: string,
    topK: number,
    filters: Record<string, unknown>,
  ): Promise<unknown[] | null>;
  close(): void;
}

type StoreClass = new (config: { collectionName: string; dimension: number; dbPath: string }) => {
  initialize(): Promise<void>;
  insert: BenchStore['insert'];
  search: BenchStore['search'];
  keywordSearch: BenchStore['keywordSearch'];
};

const PROJECT_STORE = 'libs/ai/src/vector-store/sqlite-vec.store.ts';

/** mem0's own `memory` store: a SQLite file of vectors and JSON payloads, scanned per search. */
export async function openMem0MemoryStore(dbPath: string): Promise<BenchStore> {
  const { MemoryVectorStore } = await import('mem0ai/oss');
  const store = new MemoryVectorStore({ collectionName: 'memories', dimension: DIMS, dbPath });
  await store.initialize();
  return wrap('mem0 memory', store, () =>
    (store as unknown as { db: { close(): void } }).db.close(),
  );
}

/** The project's store (libs/ai), or null while it does not exist in this checkout. */
export async function openProjectStore(dbPath: string): Promise<BenchStore | null> {
  if (!projectStoreAvailable()) return null;
  const module = (await import(join(ROOT, PROJECT_STORE))) as { SqliteVecStore: StoreClass };
  const store = new module.SqliteVecStore({ collectionName: 'memories', dimension: DIMS, dbPath });
  await store.initialize();
  return wrap('sqlite-vec', store, () => (store as unknown as { close(): void }).close());
}

export function projectStoreAvailable(): boolean {
  return existsSync(join(ROOT, PROJECT_STORE));
}

function wrap(
  label: string,
  store: Omit<BenchStore, 'label' | 'close'>,
  close: () => void,
): BenchStore {
  return {
    label,
    insert: (v, ids, p) => store.insert(v, ids, p),
    search: (q, k, f) => store.search(q, k, f),
    keywordSearch: (q, k, f) => store.keywordSearch(q, k, f),
    close,
  };
}

type SqlStoreClass = new (config: { url: string; collectionName: string; dimension: number }) => {
  initialize(): Promise<void>;
  insert: BenchStore['insert'];
  search: BenchStore['search'];
  keywordSearch: BenchStore['keywordSearch'];
  close(): Promise<void>;
};

/**
 * The project's SQL store (libs/ai) on a MySQL/MariaDB database whose tables the app's migrations
 * made, in a collection of its own; null while it does not exist in this checkout.
 */
export async function openSqlStore(
  url: string,
  collectionName: string,
): Promise<BenchStore | null> {
  const file = join(ROOT, 'libs/ai/src/vector-store/sql.store.ts');
  if (!existsSync(file)) return null;
  const module = (await import(file)) as { SqlVectorStore: SqlStoreClass };
  const store = new module.SqlVectorStore({ url, collectionName, dimension: DIMS });
  await store.initialize();
  return wrap('sql', store, () => void store.close());
}
