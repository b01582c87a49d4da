import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createLocalEmbedder, TextEmbeddings, usesLocalEmbedder } from './local-embedder';
import { createEmbedder, openVectorStore } from './mem0-instance';
import { closeStore, collectionOf, SIZED_PROVIDERS, storedDimension } from './vector-store-check';

type Json = Record<string, unknown>;

interface Row {
  id: string;
  payload: Json;
}

interface Backup {
  collection: string;
  /** The size the rows had before; undefined when the collection was empty. */
  from?: number;
  rows: Row[];
}

export interface ReEmbedOptions {
  /** Where each collection's rows are kept until its rewrite is done (holds memory text). */
  backupDir: string;
  /** Texts per embedding request. */
  batchSize: number;
  log: (line: string) => void;
}

export interface ReEmbedded {
  collection: string;
  rows: number;
  from?: number;
}

/** More rows than any collection holds: the VectorStore interface lists without paging. */
const ALL = 100_000_000;

/**
 * Re-embeds every memory and entity of the configured store with the configured embedder and
 * rewrites each collection at the embedder's size, through Mem0's VectorStore interface. Both
 * kinds keep their text in `payload.data`, which is what Mem0 embedded. Per collection:
 * 1. read every row (at the size it holds) and keep them in a backup file, written atomically;
 * 2. embed the first batch, so a wrong key, model or size stops here with nothing changed;
 * 3. empty the collection (deleteCol), make it at the new size, insert batch by batch;
 * 4. check every row is there, then delete the backup.
 * A run that stops after step 1 loses nothing: the next run finds the backup and starts over
 * from it instead of the (partly rewritten) collection. The API and workers must be stopped.
 */
export async function reEmbed(mem0Config: Json, options: ReEmbedOptions): Promise<ReEmbedded[]> {
  const { provider, config } = mem0Config.vectorStore as { provider: string; config: Json };
  if (!SIZED_PROVIDERS.includes(provider.toLowerCase())) {
    throw new Error(
      `re-embed works on the ${SIZED_PROVIDERS.join(' and ')} vector stores, not ${provider}: ` +
        'see docs/operations.md for re-embedding elsewhere',
    );
  }
  const dimension = Number(config.dimension);
  const collection = collectionOf(config);
  mkdirSync(options.backupDir, { recursive: true, mode: 0o700 });
  // EMBEDDING_PROVIDER=local: the model on a thread of its own, for the whole run.
  const local = usesLocalEmbedder(mem0Config) ? await createLocalEmbedder() : undefined;
  try {
    const done: ReEmbedded[] = [];
    for (const name of [collection, `${collection}_entities`]) {
      done.push(await reEmbedCollection(mem0Config, name, dimension, options, local));
    }
    return done;
  } finally {
    await local?.close();
  }
}

async function reEmbedCollection(
  mem0Config: Json,
  collectionName: string,
  dimension: number,
  options: ReEmbedOptions,
  localEmbeddings?: TextEmbeddings,
): Promise<ReEmbedded> {
  const backupFile = join(options.backupDir, `${collectionName}.json`);
  const held = await storedDimension(mem0Config, collectionName);
  const resumed = existsSync(backupFile);
  const backup: Backup = resumed
    ? (JSON.parse(readFileSync(backupFile, 'utf8')) as Backup)
    : {
        collection: collectionName,
        from: held,
        rows: await readAll(mem0Config, collectionName, held ?? dimension),
      };
  const { rows, from } = backup;
  const texts = rows.map((row) => textOf(row, collectionName));
  if (resumed) options.log(`${collectionName}: resuming from ${backupFile} (${rows.length} rows)`);
  else writeBackup(backupFile, backup);
  const embedder = await createEmbedder(mem0Config, localEmbeddings);
  const embed = async (start: number) => {
    const vectors = await embedder.embedBatch(texts.slice(start, start + options.batchSize));
    const wrong = vectors.find((vector) => vector.length !== dimension);
    if (wrong) {
      throw new Error(
        `The embedder made ${wrong.length}-dimension vectors, EMBEDDING_DIMS says ${dimension}`,
      );
    }
    return vectors;
  };
  const first = rows.length > 0 ? await embed(0) : [];

  const old = await openVectorStore(mem0Config, { collectionName, dimension: held ?? dimension });
  try {
    await old.deleteCol();
  } finally {
    await closeStore(old);
  }
  const store = await openVectorStore(mem0Config, { collectionName, dimension });
  try {
    await store.initialize();
    for (let start = 0; start < rows.length; start += options.batchSize) {
      const batch = rows.slice(start, start + options.batchSize);
      const vectors = start === 0 ? first : await embed(start);
      await store.insert(
        vectors,
        batch.map((row) => row.id),
        batch.map((row) => row.payload),
      );
      options.log(`${collectionName}: ${start + batch.length}/${rows.length}`);
    }
    const [, total] = await store.list(undefined, ALL);
    if (total !== rows.length) {
      throw new Error(
        `${collectionName} holds ${total} rows after re-embedding ${rows.length}; ` +
          `the backup ${backupFile} is kept: run re-embed again`,
      );
    }
  } finally {
    await closeStore(store);
  }
  rmSync(backupFile);
  return { collection: collectionName, rows: rows.length, ...(from ? { from } : {}) };
}

async function readAll(mem0Config: Json, collectionName: string, dimension: number) {
  const store = await openVectorStore(mem0Config, { collectionName, dimension });
  try {
    await store.initialize();
    const [rows] = await store.list(undefined, ALL);
    return rows.map((row): Row => ({ id: row.id, payload: row.payload as Json }));
  } finally {
    await closeStore(store);
  }
}

/** A row whose text is missing cannot be re-embedded: stop before anything is changed. */
function textOf(row: Row, collectionName: string): string {
  const text = row.payload.data;
  if (typeof text !== 'string' || text === '') {
    throw new Error(`${collectionName} row ${row.id} has no text (payload.data) to embed`);
  }
  return text;
}

/** Written whole or not at all: a crash mid-write leaves no half backup to resume from. */
function writeBackup(file: string, backup: Backup): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, JSON.stringify(backup), { mode: 0o600 });
  renameSync(partial, file);
}
