import { HistoryManagerFactory, MemoryVectorStore, VectorStoreFactory } from 'mem0ai/oss';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  migrateSqlTestDatabase,
  SQL_TEST_URL,
  uniqueCollection,
} from '../../../../test/support/sql-stores';
import { registerSqliteVecStore, registerSqlStores } from './register';
import { SqlHistoryManager } from './sql-history';
import { SqlVectorStore } from './sql.store';
import type { Bm25Params } from './scope';
import { SqliteVecStore, type VectorStoreResult } from './sqlite-vec.store';

/**
 * The same behaviour cases against mem0's own `memory` store (the reference), the project's
 * sqlite-vec store and its SQL store (on the MySQL/MariaDB of TEST_DATABASE_URL: skipped without
 * one, always run in CI), and then each beside the reference on one data set: whatever mem0
 * relies on must answer the same from any of them.
 */
type Store = Pick<
  SqliteVecStore,
  | 'insert'
  | 'search'
  | 'keywordSearch'
  | 'get'
  | 'update'
  | 'delete'
  | 'deleteCol'
  | 'list'
  | 'getUserId'
  | 'setUserId'
  | 'initialize'
>;

const DIM = 8;
const ALICE = '6f1c1d52-2a4b-4c55-9d0e-0f6a8d1e7a01';
const BOB = '0b7e3a9c-5d21-4f7a-8c3e-9a2b1c0d4e02';

/** A deterministic pseudo-random unit vector per seed (mulberry32). */
function vector(seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const v = Array.from({ length: DIM }, next);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

interface Fixture {
  id: string;
  vector: number[];
  payload: Record<string, unknown>;
}

const FIXTURES: Fixture[] = [
  ['a1', 1, ALICE, 'I like green tea in the morning', 'food', 3],
  ['a2', 2, ALICE, 'I live in Lisbon near the harbour', 'place', 5],
  ['a3', 3, ALICE, 'I work as a nurse', 'work', 1],
  ['a4', 4, ALICE, 'My sister likes tea and tea cakes', 'family', 4],
  ['b1', 5, BOB, 'I like black coffee', 'food', 2],
  ['b2', 6, BOB, 'I live in Paris', 'place', 5],
].map(([id, seed, user, data, category, rating]) => ({
  id: id as string,
  vector: vector(seed as number),
  payload: { user_id: user, data, category, rating, hash: `h-${id as string}` },
}));

const stores: [string, (dir: string) => Store][] = [
  [
    'mem0 memory store',
    (dir) => new MemoryVectorStore({ dimension: DIM, dbPath: join(dir, 'm.db') }),
  ],
  ['sqlite-vec store', (dir) => new SqliteVecStore({ dimension: DIM, dbPath: join(dir, 'v.db') })],
];

const ids = (results: VectorStoreResult[]) => results.map((r) => r.id);

const sqlStore = (dimension = DIM) =>
  new SqlVectorStore({ url: SQL_TEST_URL!, dimension, collectionName: uniqueCollection('parity') });

/** Leaves nothing behind: the SQL store's rows (in a shared database), the files, the pool. */
async function dispose(store: Store): Promise<void> {
  if (store instanceof SqlVectorStore) await store.deleteCol();
  await (store as { close?: () => unknown }).close?.();
}

const onSql = SQL_TEST_URL ? describe : describe.skip;

if (SQL_TEST_URL) beforeAll(() => migrateSqlTestDatabase(SQL_TEST_URL!), 120_000);

describe.each(stores)('%s', (_name, open) => behavesLikeMem0Store(open));

onSql('sql store (TEST_DATABASE_URL)', () => behavesLikeMem0Store(() => sqlStore()));

/** The project's stores take BM25's k1 and b from their configuration (the fused search's). */
const ownBm25: [string, (dir: string, bm25?: Bm25Params) => Store][] = [
  [
    'sqlite-vec store',
    (dir, bm25) => new SqliteVecStore({ dimension: DIM, dbPath: join(dir, 'b.db'), bm25 }),
  ],
  ...(SQL_TEST_URL
    ? [
        [
          'sql store (TEST_DATABASE_URL)',
          (_dir: string, bm25?: Bm25Params) =>
            new SqlVectorStore({
              url: SQL_TEST_URL!,
              dimension: DIM,
              collectionName: uniqueCollection('bm25'),
              bm25,
            }),
        ] as [string, (dir: string, bm25?: Bm25Params) => Store],
      ]
    : []),
];

describe.each(ownBm25)('the %s with BM25 parameters of its own', (_name, open) => {
  it("ranks keywords by the k1 and b it is given, by Mem0's 1.5 and 0.75 without", async () => {
    const cases: [Bm25Params | undefined, string[]][] = [
      [undefined, ['short', 'long']],
      [{ k1: 1.2, b: 0 }, ['long', 'short']],
    ];
    for (const [bm25, expected] of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'vector-bm25-'));
      const store = open(dir, bm25);
      try {
        await store.initialize();
        await store.insert(
          [vector(1), vector(2)],
          ['short', 'long'],
          [
            { user_id: ALICE, data: 'tea' },
            { user_id: ALICE, data: 'tea tea with biscuits in the garden every morning' },
          ],
        );
        // Length normalization favours the one-word memory; without it, two mentions win.
        expect(ids((await store.keywordSearch('tea', 10, { user_id: ALICE })) ?? [])).toEqual(
          expected,
        );
      } finally {
        await dispose(store);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

function behavesLikeMem0Store(open: (dir: string) => Store): void {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vector-parity-'));
    store = open(dir);
    await store.initialize();
    await store.insert(
      FIXTURES.map((f) => f.vector),
      FIXTURES.map((f) => f.id),
      FIXTURES.map((f) => f.payload),
    );
  });
  afterEach(async () => {
    await dispose(store);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets a row by id with its payload, and null for an unknown id', async () => {
    expect(await store.get('a2')).toEqual({ id: 'a2', payload: FIXTURES[1].payload });
    expect(await store.get('nope')).toBeNull();
  });

  it('answers camelCase scope keys as snake_case, and filters on them', async () => {
    await store.insert([vector(9)], ['c1'], [{ userId: 'carol', data: 'x' }]);
    expect(await store.get('c1')).toEqual({ id: 'c1', payload: { user_id: 'carol', data: 'x' } });
    expect(ids(await store.search(vector(9), 5, { user_id: 'carol' }))).toEqual(['c1']);
    expect(ids((await store.list({ user_id: 'carol' }))[0])).toEqual(['c1']);
  });

  it("searches one user's rows by cosine similarity, nearest first", async () => {
    const found = await store.search(vector(2), 3, { user_id: ALICE });
    expect(found[0]).toMatchObject({ id: 'a2', payload: FIXTURES[1].payload });
    expect(found[0].score).toBeCloseTo(1, 5);
    expect(found).toHaveLength(3);
    expect(found.every((r) => (r.payload.user_id as string) === ALICE)).toBe(true);
    const scores = found.map((r) => r.score ?? 0);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
  });

  it("never returns another user's rows, even for that user's exact vector", async () => {
    const found = await store.search(vector(6), 10, { user_id: ALICE });
    expect(ids(found).sort()).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(await store.search(vector(6), 10, { user_id: 'nobody' })).toEqual([]);
  });

  it('treats "*" as every user', async () => {
    const found = await store.search(vector(6), 10, { user_id: '*' });
    expect(found).toHaveLength(FIXTURES.length);
    expect(found[0].id).toBe('b2');
    expect((await store.list({ user_id: '*' }))[1]).toBe(FIXTURES.length);
  });

  it('applies field filters and operators beside the user', async () => {
    const search = async (filters: Record<string, unknown>) =>
      ids(await store.search(vector(1), 10, filters)).sort();
    expect(await search({ user_id: ALICE, category: 'food' })).toEqual(['a1']);
    expect(await search({ user_id: ALICE, rating: { gte: 4 } })).toEqual(['a2', 'a4']);
    expect(await search({ user_id: ALICE, rating: { lt: 3 } })).toEqual(['a3']);
    expect(await search({ user_id: ALICE, category: ['work', 'food'] })).toEqual(['a1', 'a3']);
    expect(await search({ user_id: ALICE, category: { nin: ['work', 'food'] } })).toEqual([
      'a2',
      'a4',
    ]);
    expect(await search({ user_id: ALICE, data: { icontains: 'LISBON' } })).toEqual(['a2']);
    expect(await search({ rating: 5 })).toEqual(['a2', 'b2']);
    expect(
      await search({ user_id: '*', OR: [{ category: 'food' }, { category: 'work' }] }),
    ).toEqual(['a1', 'a3', 'b1']);
    expect(
      await search({ user_id: ALICE, $not: [{ category: 'food' }, { category: 'place' }] }),
    ).toEqual(['a3', 'a4']);
    expect(await search({ AND: [{ user_id: BOB }, { rating: { ne: 5 } }] })).toEqual(['b1']);
  });

  it('cuts the result at topK', async () => {
    expect(await store.search(vector(1), 2, { user_id: ALICE })).toHaveLength(2);
  });

  it('refuses a query of the wrong dimension', async () => {
    await expect(store.search([1, 0, 0], 5, { user_id: ALICE })).rejects.toThrow(/dimension/);
  });

  it('replaces a row inserted again under the same id', async () => {
    await store.insert([vector(7)], ['a1'], [{ user_id: ALICE, data: 'I like oolong' }]);
    expect(await store.get('a1')).toEqual({
      id: 'a1',
      payload: { user_id: ALICE, data: 'I like oolong' },
    });
    const [, total] = await store.list({ user_id: ALICE });
    expect(total).toBe(4);
  });

  it('updates vector and payload in place, and ignores an unknown id', async () => {
    await store.update('a3', vector(42), { user_id: ALICE, data: 'I work as a pilot' });
    const found = await store.search(vector(42), 1, { user_id: ALICE });
    expect(found[0]).toMatchObject({ id: 'a3', payload: { data: 'I work as a pilot' } });
    expect(ids((await store.list({ user_id: ALICE }))[0])).toEqual(['a1', 'a2', 'a3', 'a4']);
    await store.update('nope', vector(1), { user_id: ALICE, data: 'ghost' });
    expect(await store.get('nope')).toBeNull();
  });

  it('deletes a row from every search, and ignores an unknown id', async () => {
    await store.delete('a2');
    await store.delete('nope');
    expect(await store.get('a2')).toBeNull();
    expect(ids(await store.search(vector(2), 10, { user_id: ALICE }))).not.toContain('a2');
    expect(ids((await store.keywordSearch('lisbon', 10, { user_id: ALICE })) ?? [])).toEqual([]);
    expect((await store.list({ user_id: ALICE }))[1]).toBe(3);
  });

  it('lists in insertion order with the full count and topK applied', async () => {
    const [rows, total] = await store.list({ user_id: ALICE }, 2);
    expect(ids(rows)).toEqual(['a1', 'a2']);
    expect(total).toBe(4);
    expect(rows[0]).toEqual({ id: 'a1', payload: FIXTURES[0].payload });
    const [food, foodTotal] = await store.list({ category: 'food' });
    expect([ids(food), foodTotal]).toEqual([['a1', 'b1'], 2]);
  });

  it("keyword-searches one user's text with BM25", async () => {
    const found = (await store.keywordSearch('tea', 10, { user_id: ALICE })) ?? [];
    expect(ids(found)).toEqual(['a4', 'a1']);
    expect(found[0].score).toBeGreaterThan(found[1].score ?? 0);
    expect(await store.keywordSearch('coffee', 10, { user_id: ALICE })).toEqual([]);
    expect(ids((await store.keywordSearch('coffee', 10, { user_id: '*' })) ?? [])).toEqual(['b1']);
    expect(await store.keywordSearch('   ', 10, { user_id: ALICE })).toEqual([]);
    const filtered = await store.keywordSearch('live', 10, { user_id: '*', rating: 5 });
    expect(ids(filtered ?? []).sort()).toEqual(['a2', 'b2']);
  });

  it('drops the whole collection', async () => {
    await store.deleteCol();
    expect(await store.list({ user_id: '*' })).toEqual([[], 0]);
    await store.insert([vector(1)], ['z'], [{ user_id: BOB, data: 'again' }]);
    expect((await store.list({ user_id: BOB }))[1]).toBe(1);
  });

  it('keeps the telemetry id it is given', async () => {
    const first = await store.getUserId();
    expect(await store.getUserId()).toBe(first);
    await store.setUserId('fixed-id');
    expect(await store.getUserId()).toBe('fixed-id');
  });
}

const sideBySide: [string, (dir: string) => Store][] = [
  ['sqlite-vec store', (dir) => new SqliteVecStore({ dimension: DIM, dbPath: join(dir, 'v.db') })],
  ...(SQL_TEST_URL
    ? [['sql store (TEST_DATABASE_URL)', () => sqlStore()] as [string, (dir: string) => Store]]
    : []),
];

describe.each(sideBySide)('the reference and the %s on the same data', (_name, open) => {
  const dir = mkdtempSync(join(tmpdir(), 'vector-parity-both-'));
  const reference = new MemoryVectorStore({ dimension: DIM, dbPath: join(dir, 'm.db') });
  const ours = open(dir);
  const words = 'tea coffee harbour lisbon paris nurse pilot cat dog jazz hiking bread'.split(' ');
  const users = [ALICE, BOB, 'carol', 'dave'];

  beforeAll(async () => {
    await reference.initialize();
    await ours.initialize();
    const rows = Array.from({ length: 240 }, (_, i) => ({
      id: `m${i}`,
      vector: vector(1000 + i),
      payload: {
        user_id: users[i % users.length],
        data: Array.from(
          { length: 3 + (i % 5) },
          (_, j) => words[(i * 7 + j * 3) % words.length],
        ).join(' '),
        rating: i % 6,
      },
    }));
    for (const store of [reference, ours]) {
      await store.insert(
        rows.map((r) => r.vector),
        rows.map((r) => r.id),
        rows.map((r) => r.payload),
      );
    }
  });
  afterAll(async () => {
    await dispose(ours);
    rmSync(dir, { recursive: true, force: true });
  });

  const scored = (results: VectorStoreResult[] | null) =>
    (results ?? []).map((r) => [r.id, Number((r.score ?? 0).toFixed(5))]);

  it.each([
    [{ user_id: ALICE }],
    [{ user_id: 'carol' }],
    [{ user_id: '*' }],
    [{ user_id: BOB, rating: { gt: 2 } }],
  ])('returns the same nearest rows and scores for %j', async (filters) => {
    for (const seed of [1, 77, 1003]) {
      const expected = scored(await reference.search(vector(seed), 20, filters));
      expect(expected.length).toBeGreaterThan(5);
      expect(scored(await ours.search(vector(seed), 20, filters))).toEqual(expected);
    }
  });

  it.each([
    ['tea', { user_id: ALICE }],
    ['harbour lisbon', { user_id: 'dave' }],
    ['jazz jazz bread', { user_id: '*' }],
    ['pilot cat', { user_id: BOB, rating: { lte: 3 } }],
  ])('returns the same keyword ranking and BM25 scores for %s %j', async (query, filters) => {
    const expected = scored(await reference.keywordSearch(query, 15, filters));
    expect(expected.length).toBeGreaterThan(2);
    expect(scored(await ours.keywordSearch(query, 15, filters))).toEqual(expected);
  });

  it('lists the same rows in the same order', async () => {
    for (const filters of [{ user_id: ALICE }, { user_id: '*', rating: 0 }]) {
      const [mine, myTotal] = await ours.list(filters, 25);
      const [theirs, theirTotal] = await reference.list(filters, 25);
      expect(theirTotal).toBeGreaterThan(25);
      expect([ids(mine), myTotal]).toEqual([ids(theirs), theirTotal]);
    }
  });
});

describe('registerSqliteVecStore', () => {
  it("makes mem0's factory build the sqlite-vec store and leaves every other provider alone", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vector-register-'));
    registerSqliteVecStore({ VectorStoreFactory });
    registerSqliteVecStore({ VectorStoreFactory });
    const ours = VectorStoreFactory.create('sqlite-vec', {
      dimension: DIM,
      dbPath: join(dir, 'v.db'),
    });
    const theirs = VectorStoreFactory.create('memory', {
      dimension: DIM,
      dbPath: join(dir, 'm.db'),
    });
    expect(ours).toBeInstanceOf(SqliteVecStore);
    expect(theirs).toBeInstanceOf(MemoryVectorStore);
    expect(() => VectorStoreFactory.create('no-such-store', {})).toThrow(/Unsupported/);
    (ours as unknown as SqliteVecStore).close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('registerSqlStores', () => {
  it("makes mem0's factories build the SQL stores for `sql` and leaves every other provider alone", async () => {
    registerSqlStores({ VectorStoreFactory, HistoryManagerFactory });
    registerSqlStores({ VectorStoreFactory, HistoryManagerFactory });
    // Nothing listens there: building a store opens no connection.
    const url = 'mysql://nobody@127.0.0.1:9/none';
    const vectors = VectorStoreFactory.create('sql', { dimension: DIM, url });
    const history = HistoryManagerFactory.create('sql', {
      provider: 'sql',
      config: { url } as Record<string, string>,
    });
    expect(vectors).toBeInstanceOf(SqlVectorStore);
    expect(history).toBeInstanceOf(SqlHistoryManager);
    expect(
      HistoryManagerFactory.create('memory', { provider: 'memory', config: {} }),
    ).not.toBeInstanceOf(SqlHistoryManager);
    expect(() => VectorStoreFactory.create('sql', { dimension: DIM })).toThrow(/mysql:\/\//);
    await (vectors as unknown as SqlVectorStore).close();
    await (history as unknown as SqlHistoryManager).close();
  });
});
