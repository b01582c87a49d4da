import type { Memory } from 'mem0ai/oss';
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname } from 'node:path';

import { BatchingEmbedder, Embedder } from './batching-embedder';
import { currentFactCap, keepFirstFacts } from './fact-cap';
import type { Candidate } from './fused-search';

/**
 * Everything this project reads or erases behind Mem0's public API, in one place, because Mem0's
 * types mark it private and an upgrade may change it without notice. What is relied on here is
 * pinned against the installed Mem0 by mem0-internals.contract.spec.ts: read that test before
 * upgrading mem0ai, and extend it with anything added here. Loaded by the search thread too, so
 * it imports nothing through the @app aliases.
 */
interface Mem0Private {
  /** The history store: SQLiteManager, SqlHistoryManager, MemoryHistoryManager or DummyHistoryManager. */
  db: unknown;
  llm: { generateResponse: (...args: never[]) => unknown };
  embedder: Embedder;
  vectorStore: Mem0VectorStore;
  getEntityStore(): Promise<Mem0VectorStore>;
  /** Set once getEntityStore() has made the entity store. */
  _entityStore?: Mem0VectorStore;
  /** Runs Mem0's (unexported) `extractEntities(text)`, then embeds and stores each entity. */
  _linkEntitiesForMemory(
    this: EntityLinker,
    memoryId: string,
    text: string,
    filters: Record<string, string>,
  ): Promise<void>;
}

/** What `_linkEntitiesForMemory` uses of its `this`. */
interface EntityLinker {
  embedder: Pick<Embedder, 'embed'>;
  getEntityStore(): Promise<unknown>;
  _existingEntitiesByText(): Promise<Map<string, unknown>>;
  _normalizeEntityText(value: string): string;
}

interface Mem0VectorStore {
  list(filters: Record<string, string>, limit: number): Promise<[{ id: string }[], number]>;
  search(query: number[], limit: number, filters?: Record<string, unknown>): Promise<StoreResult[]>;
  /** Optional in Mem0's interface; Mem0's search passes it the lemmatized query. */
  keywordSearch?(
    query: string,
    limit: number,
    filters?: Record<string, unknown>,
  ): Promise<StoreResult[] | null>;
  delete(id: string): Promise<void>;
  close?(): unknown;
  /** Only our sqlite-vec store: drops the deleted rows' words from its keyword index. */
  purgeDeleted?(): Promise<void>;
}

/** What a vector store's search and keyword search return for one memory. */
interface StoreResult {
  id: string;
  score?: number;
  payload?: Record<string, unknown>;
}

/** The project's SQL history (vector-store/sql-history.ts): what erasure calls on it. */
interface ErasableHistory {
  purgeMemories(memoryIds: string[]): Promise<void>;
  purgeMessagesOf(userId: string): Promise<void>;
}

interface SqliteHandle {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction(fn: () => void): () => void;
}

const LIST_LIMIT = 10_000;

/** How many parsed texts each thread keeps (a search's query, the facts of the adds in flight). */
const NLP_CACHE_SIZE = 128;

type Nlp = ((text: string, ...rest: unknown[]) => unknown) & Record<string | symbol, unknown>;

const SHARED = Symbol.for('memory-chatbot.sharedNlpParses');

/** Texts this thread's shared `compromise` parsed, and parses it handed out again. */
export const nlpParses = { parsed: 0, reused: 0 };

/**
 * Mem0 parses every text whose entities it extracts with `compromise` (`nlp(text).nouns()`), the
 * costliest part of its entity extraction; and each text is parsed twice, because the batched
 * embeddings (batchEmbeddings) run Mem0's own extraction ahead of Mem0 to know what it will
 * embed. So `compromise` as Mem0 loads it is replaced, in the module cache, by the same function
 * remembering its last NLP_CACHE_SIZE documents by text: the second parse of a text is the first
 * one's document. Mem0 only reads those documents (`nouns().out("array")`, pinned by the
 * contract test). Must run before mem0ai is loaded in the thread; idempotent.
 */
export function shareNlpParses(): void {
  const mem0Dir = dirname(require.resolve('mem0ai/oss'));
  let path: string;
  try {
    path = require.resolve('compromise', { paths: [mem0Dir] });
  } catch {
    return; // Mem0 then uses its regular expressions instead.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nlp = require(path) as Nlp;
  const loaded = require.cache[path];
  if (!loaded || nlp[SHARED] === true) return;
  const parsed = new Map<string, unknown>();
  const shared = ((text: string, ...rest: unknown[]) => {
    if (typeof text !== 'string' || rest.length > 0) return nlp(text, ...rest);
    let doc = parsed.get(text);
    if (doc !== undefined) nlpParses.reused++;
    else {
      nlpParses.parsed++;
      doc = nlp(text);
      if (parsed.size >= NLP_CACHE_SIZE) parsed.delete(parsed.keys().next().value as string);
      parsed.set(text, doc);
    }
    return doc;
  }) as Nlp;
  Object.assign(shared, nlp, { [SHARED]: true });
  loaded.exports = shared;
}

const internals = (memory: Memory) => memory as unknown as Mem0Private;

/**
 * Mem0 opens its SQLite history file with a rollback journal that syncs every write to the disk,
 * on the event loop. A write-ahead log with the app's SQLITE_SYNCHRONOUS setting makes those
 * writes cheap, like the app's own database. Other history stores are left alone.
 */
export function tuneHistoryFile(memory: Memory, synchronous: string): void {
  const sql = (internals(memory).db as { db?: { pragma?: (source: string) => unknown } }).db;
  if (typeof sql?.pragma !== 'function') return;
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') throw new Error('Bad synchronous mode');
  sql.pragma('journal_mode = WAL');
  sql.pragma(`synchronous = ${synchronous}`);
}

/**
 * Mem0 embeds and stores every fact its extraction prompt returns: one long turn of 350 "I own
 * gadget N" lines became 352 memories. There is no setting for it, so the instance's model
 * client is wrapped: inside `withFactCap`, an answer holding a `memory` array keeps its first
 * `max` facts before Mem0 reads it. Depends on the private `llm` field and on the extraction
 * answer shape `{"memory": [...]}`.
 */
export function capExtractedFacts(memory: Memory): void {
  const { llm } = internals(memory);
  const generate = llm.generateResponse.bind(llm);
  llm.generateResponse = async (...args: never[]) => {
    const response: unknown = await generate(...args);
    const max = currentFactCap();
    return max === undefined || typeof response !== 'string'
      ? response
      : keepFirstFacts(response, max);
  };
}

/** Mem0's search boosts with at most this many of the query's entities (the first ones). */
const SEARCH_ENTITY_LIMIT = 8;

/**
 * Mem0 embeds in series what one request can carry: a search embeds the query, then the
 * entities of the query; an add embeds the facts, then the entities of the facts. The instance's
 * embedder is wrapped (see BatchingEmbedder) so that the first request carries both, with the
 * entities computed by Mem0's own extraction. Only for an OpenAI-compatible embedder, whose
 * vectors are the same alone and in a batch. Depends on the private `embedder` field and the
 * private `_linkEntitiesForMemory` method.
 */
export function batchEmbeddings(
  memory: Memory,
  openAiEmbedder: abstract new (...args: never[]) => unknown,
): void {
  const own = internals(memory);
  if (!(own.embedder instanceof openAiEmbedder)) return;
  const embedder = new BatchingEmbedder(own.embedder, {
    searchEntities: (query) => searchEntities(memory, query),
    factEntities: (facts) => factEntities(memory, facts),
  });
  own.embedder = embedder;
  const search = memory.search.bind(memory);
  memory.search = (query, config) => embedder.searching(query, () => search(query, config));
  const add = memory.add.bind(memory);
  memory.add = (messages, config) => embedder.adding(() => add(messages, config));
}

/** The entity texts Mem0's search embeds for `query`: the first 8, duplicates (any case) once. */
export async function searchEntities(memory: Memory, query: string): Promise<string[]> {
  const seen = new Set<string>();
  return (await entitiesOf(memory, query)).slice(0, SEARCH_ENTITY_LIMIT).filter((text) => {
    const key = text.trim().toLowerCase();
    if (!key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every entity text Mem0's add may embed after storing some of `facts`. */
export async function factEntities(memory: Memory, facts: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const fact of facts) found.push(...(await entitiesOf(memory, fact)));
  return [...new Set(found)];
}

/**
 * The entities Mem0's own extraction finds in `text`, in its order. Mem0 does not export its
 * `extractEntities`; its private `_linkEntitiesForMemory` calls it first, then embeds each entity
 * in turn. Run on a stand-in `this` whose embedder only notes the texts and whose entity store
 * is empty and read-only, it hands them over without any request or write.
 */
async function entitiesOf(memory: Memory, text: string): Promise<string[]> {
  const found: string[] = [];
  const emptyStore = {
    list: () => Promise.resolve([[], 0]),
    search: () => Promise.resolve([]),
    insert: () => Promise.resolve(),
    update: () => Promise.resolve(),
  };
  const standIn: EntityLinker = {
    embedder: {
      embed: (entity) => {
        found.push(entity);
        return Promise.resolve([]);
      },
    },
    getEntityStore: () => Promise.resolve(emptyStore),
    _existingEntitiesByText: () => Promise.resolve(new Map()),
    _normalizeEntityText: (value) => value,
  };
  await internals(memory)._linkEntitiesForMemory.call(standIn, '', text, {});
  return found;
}

/** A sentence with names, places, a year and compound nouns: every NLP path of Mem0 runs on it. */
const WARM_UP_TEXT =
  'Ana Silva moved from Porto to Berlin in 2019 and works on the "Blue Harbour" project at Acme GmbH.';
/** A user id no user has (users get v4 ids): a warm-up search finds nothing and stores nothing. */
const NOBODY = '00000000-0000-4000-8000-000000000000';

/**
 * Runs once, before the instance serves anything, what a first search would otherwise initialise
 * and compile on a user's turn: Mem0's entity extraction (the `compromise` NLP), its lemmatiser,
 * and its vector, keyword and entity searches, on an id that has no memories. The embedder is a
 * stand-in for the duration (a unit vector of the configured size), so no model is called; the
 * instance must not be in use meanwhile.
 */
export async function warmUpSearch(memory: Memory, dimension: number): Promise<void> {
  const own = internals(memory);
  const embedder = own.embedder;
  const unit = Array.from({ length: dimension }, (_, i) => (i === 0 ? 1 : 0));
  own.embedder = {
    embed: () => Promise.resolve(unit),
    embedBatch: (texts) => Promise.resolve(texts.map(() => unit)),
  };
  try {
    await searchEntities(memory, WARM_UP_TEXT);
    await memory.search(WARM_UP_TEXT, { filters: { user_id: NOBODY }, topK: 1 });
  } finally {
    own.embedder = embedder;
  }
}

/** What an extraction would compile on first use, without a model call or a write: Mem0's NLP. */
export async function warmUpExtraction(memory: Memory): Promise<void> {
  await factEntities(memory, [WARM_UP_TEXT]);
}

/** How many memories the user has, counted up to `atMost` (enough to compare with a cap). */
export async function countMemories(
  memory: Memory,
  userId: string,
  atMost: number,
): Promise<number> {
  const { vectorStore } = internals(memory);
  const filters = { user_id: userId };
  // Some stores answer the total with a page (ours: one indexed count), others only the page's
  // length: a total larger than a one-row page is a real total.
  const [first, total] = await vectorStore.list(filters, 1);
  if (total > first.length) return total;
  const [rows, pageTotal] = await vectorStore.list(filters, atMost);
  return Math.max(rows.length, pageTotal);
}

/** Deletes the memory and its history, which would otherwise keep the text. */
export async function deleteMemory(memory: Memory, memoryId: string): Promise<void> {
  await memory.delete(memoryId);
  await purgeHistory(memory, [memoryId]);
}

/**
 * Erases everything Mem0 holds about a user; safe to run again after a failure. Mem0's own
 * `delete`/`deleteAll` leave the text behind in the history store (every ADD/UPDATE row, plus a
 * DELETE row carrying the old text, readable through `history(id)`) and in its `messages` table
 * (the user's recent raw chat turns), and no public API removes either. So the history rows of
 * each memory are purged first, then the vector, then the user's entity rows and stored
 * messages. Each step finds its rows by user id, so a retry finishes what an interrupted attempt
 * started. Needs no model call. Returns how many memories were erased.
 */
export async function eraseUser(memory: Memory, userId: string): Promise<number> {
  const { vectorStore } = internals(memory);
  let erased = 0;
  for (;;) {
    const { results } = await memory.getAll({ filters: { user_id: userId }, topK: LIST_LIMIT });
    const ids = results.map((item) => item.id);
    if (ids.length === 0) break;
    await purgeHistory(memory, ids);
    for (const id of ids) await vectorStore.delete(id);
    erased += ids.length;
  }
  const entities = await internals(memory).getEntityStore();
  const [linked] = await entities.list({ user_id: userId }, LIST_LIMIT);
  for (const row of linked) await entities.delete(row.id);
  // A store with a keyword index (the embedded sqlite-vec one) drops the deleted words too.
  for (const store of [vectorStore, entities]) await store.purgeDeleted?.();
  await purgeMessages(memory, userId);
  return erased;
}

/**
 * Gives back what the instance's stores hold open (the SQL stores' connection pool, the SQLite
 * files): its vector store, its entity store if it made one, and its history. For a shut-down:
 * the instance is unusable afterwards.
 */
export async function closeStores(memory: Memory): Promise<void> {
  const own = internals(memory);
  const stores: unknown[] = [own.vectorStore, own._entityStore, own.db];
  for (const store of stores) {
    const closable = store as { close?: () => unknown } | undefined;
    if (typeof closable?.close === 'function') await closable.close();
  }
}

/**
 * Mem0's history providers: SQLite (the default on SQLite: `memory_history` and `messages`
 * tables), the project's SQL history (MySQL/MariaDB), an in-memory map, or none
 * (`disableHistory`). Anything else cannot be erased here, so it throws and the deletion stays
 * visible as pending or failed rather than silently incomplete.
 */
function historyStore(
  memory: Memory,
):
  | { kind: 'sqlite'; sql: SqliteHandle }
  | { kind: 'sql'; history: ErasableHistory }
  | { kind: 'map'; rows: Map<string, unknown> }
  | null {
  const { db } = internals(memory);
  const candidate = db as { db?: Partial<SqliteHandle>; memoryStore?: unknown };
  if (typeof candidate.db?.prepare === 'function' && typeof candidate.db.transaction === 'function')
    return { kind: 'sqlite', sql: candidate.db as SqliteHandle };
  const erasable = db as Partial<ErasableHistory>;
  if (
    typeof erasable.purgeMemories === 'function' &&
    typeof erasable.purgeMessagesOf === 'function'
  )
    return { kind: 'sql', history: erasable as ErasableHistory };
  if (candidate.memoryStore instanceof Map)
    return { kind: 'map', rows: candidate.memoryStore as Map<string, unknown> };
  if ((db as object).constructor.name === 'DummyHistoryManager') return null;
  throw new Error('This mem0 history store cannot be erased');
}

/** Every Mem0 history store (SQLite, ours on SQL, in memory, none) takes rows this way. */
interface HistoryWriter {
  addHistory(
    memoryId: string,
    previousValue: string | null,
    newValue: string | null,
    action: string,
    createdAt?: string,
    updatedAt?: string,
    isDeleted?: number,
  ): Promise<void>;
}

/**
 * Writes one row into the memory's history, as Mem0 writes its own (`history(id)` reads it back
 * with them): for the changes this project makes beside Mem0's add/update/delete. Mem0 has no
 * public API for it; every history store has `addHistory` (pinned by the contract test).
 */
export async function addHistoryEntry(
  memory: Memory,
  memoryId: string,
  entry: { action: string; previousValue: string | null; newValue: string | null },
): Promise<void> {
  const { db } = internals(memory);
  await (db as HistoryWriter).addHistory(
    memoryId,
    entry.previousValue,
    entry.newValue,
    entry.action,
    new Date().toISOString(),
  );
}

/** Deletes the history rows of these memories (which keep their texts). */
export async function purgeHistory(memory: Memory, memoryIds: string[]): Promise<void> {
  const store = historyStore(memory);
  if (store?.kind === 'sqlite') {
    const remove = store.sql.prepare('DELETE FROM memory_history WHERE memory_id = ?');
    store.sql.transaction(() => memoryIds.forEach((id) => remove.run(id)))();
  } else if (store?.kind === 'sql') {
    await store.history.purgeMemories(memoryIds);
  } else if (store?.kind === 'map') {
    const ids = new Set(memoryIds);
    for (const [key, row] of store.rows) {
      if (ids.has((row as { memory_id?: string }).memory_id ?? '')) store.rows.delete(key);
    }
  }
}

/** Mem0 keys the raw messages it keeps by a scope ending in `user_id=<id>` (keys sorted). */
async function purgeMessages(memory: Memory, userId: string): Promise<void> {
  const store = historyStore(memory);
  if (store?.kind === 'sql') return store.history.purgeMessagesOf(userId);
  if (store?.kind !== 'sqlite') return;
  const scope = `user_id=${userId}`;
  store.sql
    .prepare(
      'DELETE FROM messages WHERE session_scope = ? OR substr(session_scope, -length(?)) = ?',
    )
    .run(scope, `&${scope}`, `&${scope}`);
}

/** A search's candidates, as its store's vector and keyword searches returned them, best first. */
export interface SearchCandidates {
  semantic: Candidate[];
  keyword: Candidate[];
}

const capturing = new AsyncLocalStorage<{ depth: number; found: SearchCandidates }>();
const capturingStores = new WeakSet<object>();

/**
 * Runs `search` (a Mem0 search on `memory`) and hands back, beside its result, the candidates
 * Mem0 fetched from the vector store's `search` and `keywordSearch`: each asked for at least
 * `depth`. Mem0 passes the keyword search the query lemmatized by its own (unexported)
 * `lemmatizeForBm25`, the way the memories' `textLemmatized` was made, which is why the lists
 * are taken from inside its search rather than fetched beside it. The store's two methods are
 * wrapped once per instance; they only record within a call of this function (its async
 * context), so concurrent searches, adds and other instances' calls are untouched.
 */
export async function searchWithCandidates<T>(
  memory: Memory,
  depth: number,
  search: () => Promise<T>,
): Promise<{ result: T; candidates: SearchCandidates }> {
  recordStoreSearches(internals(memory).vectorStore);
  const found: SearchCandidates = { semantic: [], keyword: [] };
  const result = await capturing.run({ depth, found }, search);
  return { result, candidates: found };
}

function recordStoreSearches(store: Mem0VectorStore): void {
  if (capturingStores.has(store)) return;
  capturingStores.add(store);
  const search = store.search.bind(store);
  store.search = async (query, limit, filters) => {
    const capture = capturing.getStore();
    const results = await search(query, capture ? Math.max(limit, capture.depth) : limit, filters);
    if (capture) capture.found.semantic = results.map(candidateOf);
    return results;
  };
  const keywordSearch = store.keywordSearch?.bind(store);
  if (!keywordSearch) return;
  store.keywordSearch = async (query, limit, filters) => {
    const capture = capturing.getStore();
    const results = await keywordSearch(
      query,
      capture ? Math.max(limit, capture.depth) : limit,
      filters,
    );
    if (capture) capture.found.keyword = (results ?? []).map(candidateOf);
    return results;
  };
}

const candidateOf = (result: StoreResult): Candidate => ({
  id: String(result.id),
  score: result.score ?? 0,
  payload: result.payload ?? {},
});
