import { createHash, randomUUID } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

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
import { mysqlUrl, releasePool, retryingDeadlocks, takePool } from './sql-pool';

export interface SqlVectorStoreConfig {
  /** mysql://… or mariadb://… : the app's own database, where the migrations made the tables. */
  url: string;
  collectionName?: string;
  dimension?: number;
  /** BM25's k1 and b for keywordSearch (Mem0's `memory` store's, MEM0_BM25, without). */
  bm25?: Bm25Params;
  [key: string]: unknown;
}

type Payload = Record<string, unknown>;
/** The lengths of the words InnoDB's FULLTEXT parser indexes (server settings). */
type TokenSize = { min: number; max: number };

/** The tables (libs/database migration 1764800000000-mem0-sql-stores); this store never makes them. */
export const SQL_VECTOR_TABLES = { vectors: 'mem0_vectors', meta: 'mem0_store_meta' } as const;
const T = SQL_VECTOR_TABLES.vectors;

interface ItemRow extends RowDataPacket {
  seq: number;
  id: string;
  payload: string;
  tokens: number;
}

/** Rows a write sends in one statement (a 100-memory batch at 1536 dimensions is ~650 KB). */
const INSERT_BATCH = 100;

/**
 * A mem0 vector store on the app's MySQL/MariaDB database, so that every replica shares it. One
 * table holds every collection (mem0's `<name>_entities` too), clustered by (collection, user,
 * insertion order): a search reads one user's rows, contiguous on disk, whatever the number of
 * users. Vectors are float32 BLOBs scored in this process by exact cosine similarity (the score
 * of mem0's `memory` store). Keyword search finds its candidates through an InnoDB FULLTEXT index and scores them with mem0's BM25 (see
 * keywordSearch). Runs in the main thread and in the search thread: a small mysql2 pool per
 * thread, shared with the SQL history (sql-pool.ts).
 */
export class SqlVectorStore {
  private readonly collection: string;
  private readonly dimension: number;
  private readonly url: string;
  private readonly pool: Pool;
  private readonly bm25: Bm25Params;
  private closed = false;
  /**
   * initialize()'s checks, resolving to the server's FULLTEXT token lengths. Every call waits for
   * them: mem0 hands the store out (to the entity linking, to mem0-internals) as soon as it has
   * made it, before initialize() has finished.
   */
  private started?: Promise<TokenSize>;

  constructor(config: SqlVectorStoreConfig) {
    this.collection = config.collectionName ?? 'memories';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(this.collection)) {
      throw new Error(`sql vector store: invalid collection name "${this.collection}"`);
    }
    this.dimension = config.dimension ?? 1536;
    this.url = mysqlUrl(config.url, 'sql vector store');
    this.bm25 = config.bm25 ?? MEM0_BM25;
    this.pool = takePool(this.url);
  }

  /**
   * Checks that the migrations made the tables and that the collection holds vectors of this
   * dimension; creates nothing (schema changes go through migrations on MySQL).
   */
  async initialize(): Promise<void> {
    this.started = this.verify();
    await this.started;
  }

  private async verify(): Promise<TokenSize> {
    const [tables] = await this.pool.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
      [Object.values(SQL_VECTOR_TABLES)],
    );
    const found = new Set(tables.map((t) => t.name as string));
    const missing = Object.values(SQL_VECTOR_TABLES).filter((name) => !found.has(name));
    if (missing.length > 0) {
      throw new Error(
        `sql vector store: table ${missing.join(', ')} is missing; run the database migrations`,
      );
    }
    const stored = await this.storedDimension();
    if (stored !== undefined && stored !== this.dimension) {
      throw new Error(
        `sql vector store: collection "${this.collection}" holds ${stored}-dimension vectors, ` +
          `the embedder gives ${this.dimension}; re-embed or use another collection`,
      );
    }
    const [[sizes]] = await this.pool.query<RowDataPacket[]>(
      'SELECT @@innodb_ft_min_token_size AS min, @@innodb_ft_max_token_size AS max',
    );
    return { min: Number(sizes.min), max: Number(sizes.max) };
  }

  /** The dimension of the vectors the collection holds; undefined while it is empty. */
  async storedDimension(): Promise<number | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT LENGTH(vector) AS bytes FROM ${T} WHERE collection = ? LIMIT 1`,
      [this.collection],
    );
    return rows.length > 0 ? Number(rows[0].bytes) / 4 : undefined;
  }

  /** Rows under an id that exists already are replaced, and move to the end of the order. */
  async insert(vectors: number[][], ids: string[], payloads: Payload[]): Promise<void> {
    await this.ready();
    const rows = vectors.map((vector, i) => this.rowValues(ids[i], vector, payloads[i] ?? {}));
    for (let first = 0; first < rows.length; first += INSERT_BATCH) {
      const batch = rows.slice(first, first + INSERT_BATCH);
      // A prepared statement: the vectors travel as bytes, not as hexadecimal SQL text.
      await retryingDeadlocks(() =>
        this.pool.execute(
          `REPLACE INTO ${T} (collection, owner, id, vector, payload, tokens, keywords)
           VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          batch.flat(),
        ),
      );
    }
  }

  async search(query: number[], topK = 10, filters?: Filters): Promise<VectorStoreResult[]> {
    await this.ready();
    this.checked(query, 'Query');
    const { owner, rest } = splitOwner(filters);
    if (owner !== undefined && rest === undefined) {
      // One user's rows only, in one round trip: at 100 memories a user the payloads add a tenth
      // to the vectors' bytes, less than a second query would cost.
      const [rows] = await this.pool.execute<ItemRow[]>(
        `SELECT seq, id, payload, vector FROM ${T} WHERE collection = ? AND owner = ?`,
        [this.collection, owner],
      );
      return rows
        .map((row) => ({ row, score: cosine(query, row.vector as Buffer) }))
        .sort((a, b) => b.score - a.score || a.row.seq - b.row.seq)
        .slice(0, Math.max(0, topK))
        .map(({ row, score }) => this.result(row, score));
    }
    // Filters beyond the owner: score every row in scope exactly, then filter (no cut-off).
    const [rows] = await this.scope<ItemRow>('seq, id, payload, vector', owner);
    return rows
      .map((row) => this.result(row, cosine(query, row.vector as Buffer)))
      .filter((item) => matchesFilters(item.payload, filters))
      .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
      .slice(0, topK);
  }

  /**
   * BM25 over the memory text (`textLemmatized`, else `data`), scored the way mem0's `memory`
   * store scores it, so hybrid search ranks the same; the FULLTEXT index only finds candidates.
   * Each row's indexed text starts with a token naming its collection and user, so the index
   * itself narrows the match to one user's rows. It was built without stopwords; a term InnoDB
   * does not index (shorter than innodb_ft_min_token_size, 3 by default, e.g. "tv" or "go";
   * longer than the maximum; or with characters its parser splits on) is found by reading the
   * scope's rows instead, so no term is ever missed.
   */
  async keywordSearch(
    query: string,
    topK = 10,
    filters?: Filters,
  ): Promise<VectorStoreResult[] | null> {
    const size = await this.ready();
    const terms = tokenize(query);
    if (terms.length === 0) return [];
    const { owner, rest } = splitOwner(filters);
    const unique = [...new Set(terms)];
    const indexable = unique.every((term) => {
      const length = [...term].length;
      return /^[\p{L}\p{N}_]+$/u.test(term) && length >= size.min && length <= size.max;
    });
    let candidates: ItemRow[];
    let scope: { total: number; avgTokens: number };
    if (rest === undefined && owner !== undefined && indexable) {
      const [[stats]] = await this.pool.execute<RowDataPacket[]>(
        `SELECT COUNT(*) AS total, AVG(tokens) AS avgTokens FROM ${T}
         WHERE collection = ? AND owner = ?`,
        [this.collection, owner],
      );
      scope = { total: Number(stats.total), avgTokens: Number(stats.avgTokens ?? 0) };
      if (scope.total === 0) return [];
      [candidates] = await this.pool.execute<ItemRow[]>(
        `SELECT seq, id, payload, tokens FROM ${T}
         WHERE MATCH (keywords) AGAINST (? IN BOOLEAN MODE) AND collection = ? AND owner = ?
         ORDER BY seq`,
        [`+${this.scopeToken(owner)} +(${unique.join(' ')})`, this.collection, owner],
      );
    } else {
      const [rows] = await this.scope<ItemRow>('seq, id, payload, tokens', owner);
      const inScope = rows.filter((row) => matchesFilters(this.payloadOf(row), filters));
      const tokens = inScope.reduce((sum, row) => sum + row.tokens, 0);
      scope = { total: inScope.length, avgTokens: inScope.length ? tokens / inScope.length : 0 };
      candidates = inScope;
    }
    const docs = candidates.map((row) => ({
      row,
      tokens: tokenize(textOf(this.payloadOf(row))),
    }));
    return rankBm25(terms, docs, scope, topK, this.bm25).map(({ row, score }) =>
      this.result(row, score),
    );
  }

  async get(vectorId: string): Promise<VectorStoreResult | null> {
    await this.ready();
    const [rows] = await this.pool.execute<ItemRow[]>(
      `SELECT seq, id, payload FROM ${T} WHERE collection = ? AND id = ?`,
      [this.collection, vectorId],
    );
    return rows.length > 0 ? this.result(rows[0]) : null;
  }

  /** Replaces the vector and payload of an existing row, in its place; a missing id changes nothing. */
  async update(vectorId: string, vector: number[], payload: Payload): Promise<void> {
    await this.ready();
    const [, owner, , blob, json, tokens, keywords] = this.rowValues(vectorId, vector, payload);
    await retryingDeadlocks(() =>
      this.pool.execute(
        `UPDATE ${T} SET owner = ?, vector = ?, payload = ?, tokens = ?, keywords = ?
         WHERE collection = ? AND id = ?`,
        [owner, blob, json, tokens, keywords, this.collection, vectorId],
      ),
    );
  }

  async delete(vectorId: string): Promise<void> {
    await this.ready();
    await retryingDeadlocks(() =>
      this.pool.execute(`DELETE FROM ${T} WHERE collection = ? AND id = ?`, [
        this.collection,
        vectorId,
      ]),
    );
  }

  /**
   * Empties the collection (in slices, so that no transaction holds a whole collection). Needs no
   * initialize(): a store opened with a new dimension empties the old vectors, then initializes.
   */
  async deleteCol(): Promise<void> {
    for (;;) {
      const [result] = await retryingDeadlocks(() =>
        this.pool.execute<ResultSetHeader>(`DELETE FROM ${T} WHERE collection = ? LIMIT 1000`, [
          this.collection,
        ]),
      );
      if (result.affectedRows === 0) return;
    }
  }

  /** Rows in insertion order, at most `topK`, with the number of rows that match. */
  async list(filters?: Filters, topK = 100): Promise<[VectorStoreResult[], number]> {
    await this.ready();
    const { owner, rest } = splitOwner(filters);
    const limit = Math.max(0, Math.floor(topK));
    if (owner !== undefined && rest === undefined) {
      const [rows] = await this.pool.execute<ItemRow[]>(
        `SELECT seq, id, payload FROM ${T} WHERE collection = ? AND owner = ?
         ORDER BY seq LIMIT ${limit}`,
        [this.collection, owner],
      );
      const [[count]] = await this.pool.execute<RowDataPacket[]>(
        `SELECT COUNT(*) AS total FROM ${T} WHERE collection = ? AND owner = ?`,
        [this.collection, owner],
      );
      return [rows.map((row) => this.result(row)), Number(count.total)];
    }
    const [rows] = await this.scope<ItemRow>('seq, id, payload', owner);
    const matching = rows
      .map((row) => this.result(row))
      .filter((item) => matchesFilters(item.payload, filters));
    return [matching.slice(0, limit), matching.length];
  }

  /** Mem0's telemetry id, kept per collection (mem0's `memory` store keeps one per file). */
  async getUserId(): Promise<string> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT value FROM ${SQL_VECTOR_TABLES.meta} WHERE name = ?`,
      [`telemetry_user_id:${this.collection}`],
    );
    if (rows.length > 0) return rows[0].value as string;
    const id = randomUUID();
    await this.setUserId(id);
    return id;
  }

  async setUserId(userId: string): Promise<void> {
    await this.pool.execute(`REPLACE INTO ${SQL_VECTOR_TABLES.meta} (name, value) VALUES (?, ?)`, [
      `telemetry_user_id:${this.collection}`,
      userId,
    ]);
  }

  /** Gives the thread's pool back; the last store or history to do so closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await releasePool(this.url);
  }

  /** Every row of the collection, or of one user, in insertion order. */
  private scope<R extends RowDataPacket>(columns: string, owner?: string) {
    return owner === undefined
      ? this.pool.execute<R[]>(`SELECT ${columns} FROM ${T} WHERE collection = ? ORDER BY seq`, [
          this.collection,
        ])
      : this.pool.execute<R[]>(
          `SELECT ${columns} FROM ${T} WHERE collection = ? AND owner = ? ORDER BY seq`,
          [this.collection, owner],
        );
  }

  /**
   * initialize()'s result; checked again after a failure (the database down at start-up), since
   * mem0 keeps an entity store whose initialize() failed and goes on calling it.
   */
  private async ready(): Promise<TokenSize> {
    if (this.closed) throw new Error('sql vector store: closed');
    if (!this.started) throw new Error('sql vector store: initialize() was not called');
    try {
      return await this.started;
    } catch {
      this.started = this.verify();
      return this.started;
    }
  }

  /** The columns of a row: collection, owner, id, vector, payload, tokens, keywords. */
  private rowValues(id: string, vector: number[], payload: Payload) {
    const blob = Buffer.from(this.checked(vector, 'Vector').buffer);
    const normalized = normalizeScope(payload);
    const owner = ownerOf(normalized) ?? '';
    const text = textOf(normalized);
    return [
      this.collection,
      owner,
      id,
      blob,
      JSON.stringify(payload),
      tokenize(text).length,
      `${this.scopeToken(owner)} ${text}`,
    ] as const;
  }

  /**
   * One FULLTEXT token for the collection and user (a hash: any user id, any length, becomes a
   * plain word of 41 characters, under InnoDB's 84-character limit).
   */
  private scopeToken(owner: string): string {
    return `k${createHash('sha1').update(`${this.collection}\0${owner}`).digest('hex')}`;
  }

  private checked(vector: number[], what: string): Float32Array {
    if (vector.length !== this.dimension) {
      throw new Error(
        `${what} dimension mismatch. Expected ${this.dimension}, got ${vector.length}`,
      );
    }
    return new Float32Array(vector);
  }

  private result(row: ItemRow, score?: number): VectorStoreResult {
    const payload = this.payloadOf(row);
    return score === undefined ? { id: row.id, payload } : { id: row.id, payload, score };
  }

  private payloadOf(row: ItemRow): Payload {
    return normalizeScope(JSON.parse(row.payload) as Payload);
  }
}

/**
 * Cosine similarity of the query (doubles, as the embedder gave it) and a stored float32 BLOB,
 * computed as mem0's `memory` store computes it.
 */
function cosine(query: number[], blob: Buffer): number {
  const stored =
    blob.byteOffset % 4 === 0
      ? new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
      : new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  let dot = 0;
  let normQ = 0;
  let normS = 0;
  for (let i = 0; i < stored.length; i++) {
    dot += query[i] * stored[i];
    normQ += query[i] * query[i];
    normS += stored[i] * stored[i];
  }
  return dot / (Math.sqrt(normQ) * Math.sqrt(normS));
}
