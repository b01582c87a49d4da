import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { load as loadSqliteVec } from 'sqlite-vec';

import { type Filters, matchesFilters } from './payload-filter';
import {
  normalizeScope,
  ownerOf,
  Bm25Params,
  MEM0_BM25,
  rankBm25,
  splitOwner,
  textOf,
  tokenize,
  type VectorStoreResult,
} from './scope';

export type { VectorStoreResult } from './scope';

export interface SqliteVecStoreConfig {
  dbPath: string;
  collectionName?: string;
  dimension?: number;
  /**
   * Vectors per sqlite-vec chunk (default 64). Every user's partition allocates whole chunks, so
   * this is also the smallest space a user takes (64 × 1536 floats = 384 KiB); a search reads
   * the chunks of one partition.
   */
  chunkSize?: number;
  /** SQLite's `synchronous` for the write-ahead log: NORMAL (default) or FULL. */
  synchronous?: string;
  /**
   * mem0 `memory`-store files to import once into an empty collection, keyed by collection name
   * (mem0 keeps `<name>_entities` in a second file). The file is renamed `*.migrated` afterwards.
   */
  migrateFrom?: Record<string, string>;
  /** BM25's k1 and b for keywordSearch (Mem0's `memory` store's, MEM0_BM25, without). */
  bm25?: Bm25Params;
  [key: string]: unknown;
}

type Payload = Record<string, unknown>;
interface ItemRow {
  rowid: number | bigint;
  id: string;
  tokens: number;
  payload: string;
}

/** sqlite-vec's KNN `k` ceiling. */
const MAX_K = 4096;
/**
 * sqlite-vec's default (1024) preallocates 6 MiB per user at 1536 dimensions and makes a search
 * read all of it; 64 keeps a small user small and a search of a 100-memory user under a
 * millisecond (measured with 1536 dimensions: 0.4 ms against 2.3 ms).
 */
const DEFAULT_CHUNK_SIZE = 64;

/**
 * A mem0 vector store on SQLite: vectors in a sqlite-vec `vec0` table partitioned by user (a
 * search reads one user's vectors, however many users there are), keyword search in an FTS5 index
 * (BM25), payloads as JSON rows. One collection = three tables named after it, so mem0's entity
 * collection (`<name>_entities`) lives in the same file. Scores are cosine similarities, like
 * mem0's `memory` store. better-sqlite3 is synchronous: each call holds the event loop for its
 * query, which stays around a millisecond for a one-user search at 100k memories.
 */
export class SqliteVecStore {
  private readonly db: Database.Database;
  private readonly dimension: number;
  private readonly chunkSize: number;
  private readonly collection: string;
  private readonly migrateFrom?: string;
  private readonly bm25: Bm25Params;
  private statements?: ReturnType<SqliteVecStore['prepare']>;

  constructor(config: SqliteVecStoreConfig) {
    this.collection = config.collectionName ?? 'memories';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.collection)) {
      throw new Error(`sqlite-vec store: invalid collection name "${this.collection}"`);
    }
    this.dimension = config.dimension ?? 1536;
    this.chunkSize = config.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 8 || this.chunkSize % 8 !== 0) {
      throw new Error('sqlite-vec store: chunkSize must be a positive multiple of 8');
    }
    const synchronous = config.synchronous ?? 'NORMAL';
    if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
      throw new Error('sqlite-vec store: synchronous must be NORMAL or FULL');
    }
    this.migrateFrom = config.migrateFrom?.[this.collection];
    this.bm25 = config.bm25 ?? MEM0_BM25;
    mkdirSync(dirname(config.dbPath), { recursive: true });
    this.db = new Database(config.dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    // Deleted memories' text is overwritten, not left in free pages.
    this.db.pragma('secure_delete = ON');
    loadSqliteVec(this.db);
  }

  async initialize(): Promise<void> {
    this.createTables();
    this.statements ??= this.prepare();
    this.importMemoryStoreFile();
    return Promise.resolve();
  }

  async insert(vectors: number[][], ids: string[], payloads: Payload[]): Promise<void> {
    this.ready();
    this.db.transaction(() => {
      vectors.forEach((vector, i) => {
        this.removeRow(ids[i]);
        this.addRow(ids[i], this.vectorBlob(vector), payloads[i] ?? {});
      });
    })();
    return Promise.resolve();
  }

  async search(query: number[], topK = 10, filters?: Filters): Promise<VectorStoreResult[]> {
    const q = this.ready();
    const blob = this.vectorBlob(query, 'Query');
    const { owner, rest } = splitOwner(filters);
    let results: VectorStoreResult[];
    if (owner !== undefined && rest === undefined && topK <= MAX_K) {
      const rows = q.knn.all(blob, Math.max(1, topK), owner) as (ItemRow & { distance: number })[];
      results = rows.map((row) => this.result(row, 1 - row.distance));
    } else {
      // Filters beyond the owner: score every row in scope exactly, then filter (no KNN cut-off).
      const rows = (
        owner === undefined ? q.scanAll.all(blob) : q.scanOwner.all(blob, owner)
      ) as (ItemRow & { distance: number })[];
      results = rows
        .map((row) => this.result(row, 1 - row.distance))
        .filter((item) => matchesFilters(item.payload, filters))
        .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
        .slice(0, topK);
    }
    return Promise.resolve(results);
  }

  /**
   * BM25 over the memory text (`textLemmatized`, else `data`), scored the way mem0's `memory`
   * store scores it (whitespace tokens, k1 1.5, b 0.75, document statistics of the filtered rows),
   * so hybrid search ranks the same; FTS5 only finds the candidate rows.
   */
  keywordSearch(query: string, topK = 10, filters?: Filters): Promise<VectorStoreResult[] | null> {
    return Promise.resolve(this.rankByKeywords(query, topK, filters));
  }

  private rankByKeywords(
    query: string,
    topK: number,
    filters?: Filters,
  ): VectorStoreResult[] | null {
    const q = this.ready();
    const terms = tokenize(query);
    if (terms.length === 0) return [];
    const { owner, rest } = splitOwner(filters);
    const text = `text : (${[...new Set(terms)].map(quote).join(' OR ')})`;
    let scope: { total: number; avgTokens: number; accepts: (row: ItemRow) => boolean };
    if (rest === undefined && owner !== undefined) {
      const stats = q.ownerStats.get(owner) as { total: number; avgTokens: number | null };
      scope = { total: stats.total, avgTokens: stats.avgTokens ?? 0, accepts: () => true };
    } else {
      const rows = (
        owner === undefined ? q.listAll.all() : q.listOwner.all(owner, -1)
      ) as ItemRow[];
      const inScope = rows.filter((row) => matchesFilters(this.payloadOf(row), filters));
      const ids = new Set(inScope.map((row) => row.id));
      const tokens = inScope.reduce((sum, row) => sum + row.tokens, 0);
      scope = {
        total: inScope.length,
        avgTokens: inScope.length ? tokens / inScope.length : 0,
        accepts: (row) => ids.has(row.id),
      };
    }
    const match = owner === undefined ? text : `owner : ${quote(ownerToken(owner))} AND ${text}`;
    let found: ItemRow[];
    try {
      found = (q.keyword.all(match) as ItemRow[]).filter(scope.accepts);
    } catch {
      return null;
    }
    const docs = found.map((row) => ({ row, tokens: tokenize(textOf(this.payloadOf(row))) }));
    return rankBm25(terms, docs, scope, topK, this.bm25).map(({ row, score }) =>
      this.result(row, score),
    );
  }

  async get(vectorId: string): Promise<VectorStoreResult | null> {
    const row = this.ready().byId.get(vectorId) as ItemRow | undefined;
    return Promise.resolve(row ? { id: row.id, payload: this.payloadOf(row) } : null);
  }

  /** Replaces the vector and payload of an existing row; a missing id changes nothing. */
  async update(vectorId: string, vector: number[], payload: Payload): Promise<void> {
    const blob = this.vectorBlob(vector);
    this.ready();
    this.db.transaction(() => {
      const rowid = this.removeRow(vectorId);
      if (rowid !== undefined) this.addRow(vectorId, blob, payload, rowid);
    })();
    return Promise.resolve();
  }

  async delete(vectorId: string): Promise<void> {
    this.ready();
    this.db.transaction(() => this.removeRow(vectorId))();
    return Promise.resolve();
  }

  async deleteCol(): Promise<void> {
    this.dropTables();
    this.statements = undefined;
    this.createTables();
    this.statements = this.prepare();
    return Promise.resolve();
  }

  /** Rows in insertion order, at most `topK`, with the number of rows that match. */
  async list(filters?: Filters, topK = 100): Promise<[VectorStoreResult[], number]> {
    const q = this.ready();
    const { owner, rest } = splitOwner(filters);
    if (owner !== undefined && rest === undefined) {
      const rows = q.listOwner.all(owner, topK) as ItemRow[];
      const { total } = q.countOwner.get(owner) as { total: number };
      return Promise.resolve([rows.map((row) => this.result(row)), total]);
    }
    const rows = (owner === undefined ? q.listAll.all() : q.listOwner.all(owner, -1)) as ItemRow[];
    const matching = rows
      .map((row) => this.result(row))
      .filter((item) => matchesFilters(item.payload, filters));
    return Promise.resolve([matching.slice(0, topK), matching.length]);
  }

  async getUserId(): Promise<string> {
    const row = this.ready().getMeta.get('telemetry_user_id') as { value: string } | undefined;
    if (row) return row.value;
    const id = crypto.randomUUID();
    await this.setUserId(id);
    return id;
  }

  async setUserId(userId: string): Promise<void> {
    this.ready().setMeta.run('telemetry_user_id', userId);
    return Promise.resolve();
  }

  /**
   * Rewrites the keyword index so the words of deleted rows leave its pages too (FTS5 only marks
   * them deleted until segments merge). Tens of milliseconds at 100k rows: for erasure, not for
   * every delete.
   */
  async purgeDeleted(): Promise<void> {
    this.ready();
    this.db
      .prepare(
        `INSERT INTO "${this.collection}_fts" ("${this.collection}_fts") VALUES ('optimize')`,
      )
      .run();
    return Promise.resolve();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * The size of the vectors this collection holds; undefined while it holds none (an empty
   * collection takes the configured size on initialize). Needs no initialize.
   */
  async storedDimension(): Promise<number | undefined> {
    return Promise.resolve(this.isEmpty() ? undefined : this.declaredDimension());
  }

  private declaredDimension(): number | undefined {
    const declared = this.db
      .prepare(`SELECT sql FROM sqlite_master WHERE name = ?`)
      .get(`${this.collection}_vec`) as { sql: string } | undefined;
    const dims = declared && /float\[(\d+)\]/.exec(declared.sql)?.[1];
    return dims ? Number(dims) : undefined;
  }

  private isEmpty(): boolean {
    const exists = this.db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
      .get(this.collection);
    return !exists || !this.db.prepare(`SELECT 1 FROM "${this.collection}" LIMIT 1`).get();
  }

  private dropTables(): void {
    const t = this.collection;
    this.db.exec(
      `DROP TABLE IF EXISTS "${t}_vec"; DROP TABLE IF EXISTS "${t}_fts"; DROP TABLE IF EXISTS "${t}";`,
    );
  }

  /**
   * Creates the collection's tables at the configured size. An empty collection of another size
   * is made again (nothing to lose); one holding vectors of another size is refused.
   */
  private createTables(): void {
    const t = this.collection;
    const declared = this.declaredDimension();
    if (declared !== undefined && declared !== this.dimension) {
      if (!this.isEmpty()) {
        throw new Error(
          `sqlite-vec store: collection "${t}" holds ${declared}-dimension vectors, the embedder ` +
            `gives ${this.dimension}; re-embed them (npm run cli -- re-embed) or use another collection`,
        );
      }
      this.dropTables();
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS "${t}" (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT,
        tokens INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS "${t}_by_owner" ON "${t}" (owner, rowid);
      CREATE VIRTUAL TABLE IF NOT EXISTS "${t}_vec" USING vec0(
        owner TEXT PARTITION KEY,
        embedding float[${this.dimension}] distance_metric=cosine,
        chunk_size=${this.chunkSize}
      );
      CREATE VIRTUAL TABLE IF NOT EXISTS "${t}_fts" USING fts5(
        owner, text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
      );
      CREATE TABLE IF NOT EXISTS vector_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  private prepare() {
    const t = this.collection;
    const columns = `i.rowid AS rowid, i.id AS id, i.tokens AS tokens, i.payload AS payload`;
    const db = this.db;
    return {
      insertItem: db.prepare(
        `INSERT INTO "${t}" (rowid, id, owner, tokens, payload) VALUES (?, ?, ?, ?, ?)`,
      ),
      insertVec: db.prepare(`INSERT INTO "${t}_vec" (rowid, owner, embedding) VALUES (?, ?, ?)`),
      insertFts: db.prepare(`INSERT INTO "${t}_fts" (rowid, owner, text) VALUES (?, ?, ?)`),
      rowidOf: db.prepare(`SELECT rowid FROM "${t}" WHERE id = ?`),
      deleteItem: db.prepare(`DELETE FROM "${t}" WHERE rowid = ?`),
      deleteVec: db.prepare(`DELETE FROM "${t}_vec" WHERE rowid = ?`),
      deleteFts: db.prepare(`DELETE FROM "${t}_fts" WHERE rowid = ?`),
      byId: db.prepare(`SELECT rowid, id, tokens, payload FROM "${t}" WHERE id = ?`),
      knn: db.prepare(
        `SELECT ${columns}, v.distance AS distance FROM "${t}_vec" v JOIN "${t}" i ON i.rowid = v.rowid
         WHERE v.embedding MATCH ? AND k = ? AND v.owner = ? ORDER BY v.distance`,
      ),
      scanOwner: db.prepare(
        `SELECT ${columns}, vec_distance_cosine(v.embedding, ?) AS distance
         FROM "${t}" i JOIN "${t}_vec" v ON v.rowid = i.rowid WHERE i.owner = ?`,
      ),
      scanAll: db.prepare(
        `SELECT ${columns}, vec_distance_cosine(v.embedding, ?) AS distance
         FROM "${t}" i JOIN "${t}_vec" v ON v.rowid = i.rowid`,
      ),
      keyword: db.prepare(
        `SELECT ${columns} FROM "${t}_fts" f JOIN "${t}" i ON i.rowid = f.rowid
         WHERE "${t}_fts" MATCH ? ORDER BY i.rowid`,
      ),
      listOwner: db.prepare(
        `SELECT ${columns} FROM "${t}" i WHERE owner = ? ORDER BY rowid LIMIT ?`,
      ),
      listAll: db.prepare(`SELECT ${columns} FROM "${t}" i ORDER BY rowid`),
      countOwner: db.prepare(`SELECT count(*) AS total FROM "${t}" WHERE owner = ?`),
      ownerStats: db.prepare(
        `SELECT count(*) AS total, avg(tokens) AS avgTokens FROM "${t}" WHERE owner = ?`,
      ),
      getMeta: db.prepare(`SELECT value FROM vector_store_meta WHERE key = ?`),
      setMeta: db.prepare(`INSERT OR REPLACE INTO vector_store_meta (key, value) VALUES (?, ?)`),
    };
  }

  private ready(): NonNullable<SqliteVecStore['statements']> {
    if (!this.statements) throw new Error('sqlite-vec store: initialize() was not called');
    return this.statements;
  }

  /** Writes the row; `rowid` keeps an updated row in its place in insertion order. */
  private addRow(id: string, blob: Buffer, payload: Payload, rowid?: bigint): void {
    const q = this.ready();
    const normalized = normalizeScope(payload);
    const owner = ownerOf(normalized);
    const text = textOf(normalized);
    const written = q.insertItem.run(
      rowid ?? null,
      id,
      owner,
      tokenize(text).length,
      JSON.stringify(payload),
    );
    const key = rowid ?? BigInt(written.lastInsertRowid);
    q.insertVec.run(key, owner ?? '', blob);
    q.insertFts.run(key, owner === null ? null : ownerToken(owner), text);
  }

  /** Removes every trace of the row; its rowid if it existed. */
  private removeRow(id: string): bigint | undefined {
    const q = this.ready();
    const row = q.rowidOf.get(id) as { rowid: number | bigint } | undefined;
    if (!row) return undefined;
    const rowid = BigInt(row.rowid);
    q.deleteVec.run(rowid);
    q.deleteFts.run(rowid);
    q.deleteItem.run(rowid);
    return rowid;
  }

  private result(row: ItemRow, score?: number): VectorStoreResult {
    const payload = this.payloadOf(row);
    return score === undefined ? { id: row.id, payload } : { id: row.id, payload, score };
  }

  private payloadOf(row: ItemRow): Payload {
    return normalizeScope(JSON.parse(row.payload) as Payload);
  }

  private vectorBlob(vector: number[], what = 'Vector'): Buffer {
    if (vector.length !== this.dimension) {
      throw new Error(
        `${what} dimension mismatch. Expected ${this.dimension}, got ${vector.length}`,
      );
    }
    return Buffer.from(new Float32Array(vector).buffer);
  }

  /**
   * Imports a mem0 `memory`-store file (table `vectors`: id, float32 blob, JSON payload) into
   * this collection once, when the collection is still empty, then renames the file so the
   * import cannot run twice and the old copy is easy to find and delete.
   */
  private importMemoryStoreFile(): void {
    const source = this.migrateFrom;
    if (!source || !existsSync(source)) return;
    const q = this.ready();
    const { total } = this.db
      .prepare(`SELECT count(*) AS total FROM "${this.collection}"`)
      .get() as {
      total: number;
    };
    if (total > 0) return;
    const old = new Database(source, { readonly: true, fileMustExist: true });
    try {
      const hasVectors = old
        .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'`)
        .get();
      if (!hasVectors) return;
      const rows = old.prepare(`SELECT id, vector, payload FROM vectors`).iterate() as Iterable<{
        id: string;
        vector: Buffer;
        payload: string;
      }>;
      this.db.transaction(() => {
        for (const row of rows) {
          if (row.vector.byteLength !== this.dimension * 4) {
            throw new Error(
              `sqlite-vec store: ${source} holds ${row.vector.byteLength / 4}-dimension vectors, ` +
                `the embedder gives ${this.dimension}`,
            );
          }
          this.addRow(row.id, row.vector, JSON.parse(row.payload) as Payload);
        }
      })();
      q.setMeta.run(`migrated:${this.collection}`, new Date().toISOString());
    } finally {
      old.close();
    }
    renameSync(source, `${source}.migrated`);
  }
}

/** The owner as one FTS5 token (hex of its UTF-8), so any user id matches exactly. */
function ownerToken(owner: string): string {
  return `o${Buffer.from(owner, 'utf8').toString('hex')}`;
}

function quote(term: string): string {
  return `"${term.replace(/"/g, '""')}"`;
}
