import { COLLECTION_NAME, SQL_PROVIDER } from './mem0-config';
import { openVectorStore } from './mem0-instance';
import { SQLITE_VEC_PROVIDER } from './vector-store/register';
import { isSized } from './vector-store/stored-dimension';

type Json = Record<string, unknown>;

/**
 * The project's own stores, which tell the size of what they hold (storedDimension) and open
 * without side effects. Mem0's Qdrant and pgvector stores connect and create their collections
 * as soon as they are made; on those a size mismatch shows on first use instead: Mem0's Qdrant
 * store refuses a collection of another size, and pgvector refuses vectors of another size.
 */
export const SIZED_PROVIDERS: readonly string[] = [SQLITE_VEC_PROVIDER, SQL_PROVIDER];

/** A reason the configured vector store cannot be used; its message is one line for the operator. */
export class VectorStoreStartError extends Error {
  override name = 'VectorStoreStartError';
}

/**
 * Checks, before Mem0 is made, what would otherwise surface later as failed memory calls: each
 * collection (memories, then entities) holds no vectors of another size than the embedder makes.
 * (The clients of Mem0's Qdrant and pgvector stores, optional peers of mem0ai, are dependencies
 * of this project.) `embedder` names what makes the vectors (see embedderSettings).
 */
export async function checkVectorStore(
  mem0Config: Json,
  embedder: { name: string; variables: string },
): Promise<void> {
  const { provider, config } = mem0Config.vectorStore as { provider: string; config: Json };
  if (!SIZED_PROVIDERS.includes(provider.toLowerCase())) return;
  const dimension = Number(config.dimension);
  const collection = collectionOf(config);
  for (const collectionName of [collection, `${collection}_entities`]) {
    const held = await storedDimension(mem0Config, collectionName);
    if (held !== undefined && held !== dimension) {
      throw new VectorStoreStartError(
        `The vector store holds ${held}-dimension vectors in "${collectionName}", but the ` +
          `embedder (${embedder.name}) makes ${dimension}: run ` +
          `"npm run cli -- re-embed" with the new settings to re-embed every memory ` +
          `(docs/operations.md), or set ${embedder.variables} back`,
      );
    }
  }
}

/** The size of the vectors one collection of a sized store holds; undefined when empty. */
export async function storedDimension(
  mem0Config: Json,
  collectionName: string,
): Promise<number | undefined> {
  const store = await openVectorStore(mem0Config, { collectionName });
  try {
    if (!isSized(store)) throw new Error(`The vector store cannot tell its dimension`);
    return await store.storedDimension();
  } finally {
    await closeStore(store);
  }
}

/** Closes a store that holds a connection or a file (ours do; Mem0's interface has no close). */
export async function closeStore(store: object): Promise<void> {
  await (store as { close?: () => unknown }).close?.();
}

/** The configured collection (a MEM0_CONFIG_PATH may rename it); entities are `<it>_entities`. */
export function collectionOf(config: Json): string {
  return typeof config.collectionName === 'string' ? config.collectionName : COLLECTION_NAME;
}
