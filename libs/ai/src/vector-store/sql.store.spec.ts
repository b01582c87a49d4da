import { MemoryVectorStore } from 'mem0ai/oss';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  migrateSqlTestDatabase,
  SQL_TEST_URL,
  uniqueCollection,
} from '../../../../test/support/sql-stores';
import { SqlVectorStore } from './sql.store';

const DIM = 4;
const USER = '1b6f2c3d-0000-4000-8000-00000000aaaa';
const OTHER = '1b6f2c3d-0000-4000-8000-00000000bbbb';
const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.01 * i));

/**
 * What the SQL store adds to the parity suite's cases: what only a shared server shows (tables
 * made by migrations, dimensions, collections side by side, concurrent writers) and InnoDB's
 * FULLTEXT limits (short words, stopwords). Needs TEST_DATABASE_URL (MySQL/MariaDB), as in CI.
 */
(SQL_TEST_URL ? describe : describe.skip)('SqlVectorStore (TEST_DATABASE_URL)', () => {
  const url = SQL_TEST_URL!;
  const opened: SqlVectorStore[] = [];
  const open = (config: { collectionName?: string; dimension?: number; url?: string } = {}) => {
    const store = new SqlVectorStore({
      url,
      dimension: DIM,
      collectionName: uniqueCollection('sql'),
      ...config,
    });
    opened.push(store);
    return store;
  };

  beforeAll(() => migrateSqlTestDatabase(url), 120_000);
  afterEach(async () => {
    for (const store of opened.splice(0)) {
      await store.deleteCol().catch(() => undefined);
      await store.close();
    }
  });

  it('refuses to start where the migrations did not make its tables, and says so', async () => {
    const elsewhere = new URL(url);
    elsewhere.pathname = '/information_schema';
    const store = open({ url: elsewhere.href });
    await expect(store.initialize()).rejects.toThrow(/mem0_vectors.*missing.*migrations/);
  });

  it('answers calls made while initialize() is still running, once it is done', async () => {
    const store = open();
    const started = store.initialize();
    // mem0 hands the store out as soon as it has made it.
    const listed = store.list({ user_id: USER }, 5);
    await started;
    expect(await listed).toEqual([[], 0]);
    await expect(open().list({ user_id: USER })).rejects.toThrow(/initialize\(\) was not called/);
  });

  it('reports the stored dimension, refuses another, and re-embeds through deleteCol', async () => {
    const collectionName = uniqueCollection('dims');
    const first = open({ collectionName });
    await first.initialize();
    expect(await first.storedDimension()).toBeUndefined();
    await first.insert([unit(1)], ['m1'], [{ user_id: USER, data: 'four dimensions' }]);
    expect(await first.storedDimension()).toBe(DIM);

    const wider = open({ collectionName, dimension: 8 });
    await expect(wider.initialize()).rejects.toThrow(/4-dimension vectors.*gives 8/);
    await wider.deleteCol();
    await wider.initialize();
    expect(await wider.storedDimension()).toBeUndefined();
    const eight = Array.from({ length: 8 }, (_, i) => (i === 2 ? 1 : 0));
    await wider.insert([eight], ['m1'], [{ user_id: USER, data: 'eight dimensions' }]);
    expect(await wider.storedDimension()).toBe(8);
    expect((await wider.search(eight, 5, { user_id: USER }))[0]).toMatchObject({
      id: 'm1',
      payload: { data: 'eight dimensions' },
    });
  });

  it('keeps a collection and its entity collection apart in one table', async () => {
    const collectionName = uniqueCollection('apart');
    const memories = open({ collectionName });
    const entities = open({ collectionName: `${collectionName}_entities` });
    await memories.initialize();
    await entities.initialize();
    await memories.insert([unit(1)], ['x1'], [{ user_id: USER, data: 'Ana likes Lisbon' }]);
    await entities.insert([unit(1)], ['x1'], [{ user_id: USER, data: 'lisbon', linked: ['x1'] }]);
    expect((await memories.get('x1'))?.payload.data).toBe('Ana likes Lisbon');
    expect((await entities.get('x1'))?.payload.data).toBe('lisbon');
    expect(
      (await memories.keywordSearch('lisbon', 5, { user_id: USER }))?.map((r) => r.id),
    ).toEqual(['x1']);
    await entities.deleteCol();
    expect(await memories.get('x1')).not.toBeNull();
  });

  it('stores any text exactly: Unicode, quotes, SQL-looking strings', async () => {
    const store = open();
    await store.initialize();
    const texts = ["Robert'); DROP TABLE mem0_vectors;--", 'Ça va, 東京 🚀 "quoted" \\ back'];
    await store.insert(
      texts.map((_, i) => unit(i)),
      ['t0', 't1'],
      texts.map((data) => ({ user_id: USER, data })),
    );
    expect((await store.get('t0'))?.payload.data).toBe(texts[0]);
    expect((await store.get('t1'))?.payload.data).toBe(texts[1]);
  });

  describe('keyword search beyond what InnoDB indexes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-store-keywords-'));
    const reference = new MemoryVectorStore({ dimension: DIM, dbPath: join(dir, 'm.db') });
    let store: SqlVectorStore;
    const rows = [
      'my tv is in the uk about it',
      'we go to the uk every year',
      'i will go about it',
      'tv tv tv go',
      'the the the',
    ];
    beforeAll(async () => {
      store = new SqlVectorStore({ url, dimension: DIM, collectionName: uniqueCollection('kw') });
      await store.initialize();
      await reference.initialize();
      for (const target of [store, reference]) {
        await target.insert(
          [...rows.map((_, i) => unit(i)), unit(9)],
          [...rows.map((_, i) => `k${i}`), 'other'],
          [
            ...rows.map((data) => ({ user_id: USER, data, textLemmatized: data })),
            { user_id: OTHER, data: 'tv uk go about the', textLemmatized: 'tv uk go about the' },
          ],
        );
      }
    });
    afterAll(async () => {
      await store.deleteCol();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(['tv', 'uk go', 'about', 'the', 'will about', 'tv year'])(
      'ranks %j like mem0’s memory store, one user only',
      async (query) => {
        const expected = await reference.keywordSearch(query, 10, { user_id: USER });
        const found = await store.keywordSearch(query, 10, { user_id: USER });
        const scored = (r: typeof found) =>
          (r ?? []).map((x) => [x.id, Number((x.score ?? 0).toFixed(5))]);
        expect(scored(expected).length).toBeGreaterThan(0);
        expect(scored(found)).toEqual(scored(expected));
      },
    );
  });

  it('serves parallel adds, searches, updates and deletes of one user: no error, no lost row', async () => {
    const store = open();
    await store.initialize();
    const n = 60;
    const id = (i: number) => `c${i}`;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.insert([unit(i)], [id(i)], [{ user_id: USER, data: `fact number ${i}` }]),
      ),
    );
    // Every odd row is deleted while updates race for the same rows and searches run.
    const work = Array.from({ length: n }, (_, i) => [
      i % 2 === 1 ? store.delete(id(i)) : Promise.resolve(),
      store.update(id(i), unit(i + 1), { user_id: USER, data: `fact number ${i} updated` }),
      store.search(unit(i), 10, { user_id: USER }),
      store.keywordSearch('fact updated', 10, { user_id: USER }),
      store.list({ user_id: USER }, 5),
    ]).flat();
    const outcomes = await Promise.allSettled(work);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const [kept, total] = await store.list({ user_id: USER }, 1000);
    expect(total).toBe(n / 2);
    expect(kept.map((r) => r.id).sort()).toEqual(
      Array.from({ length: n / 2 }, (_, k) => id(2 * k)).sort(),
    );
    expect(kept.every((r) => r.payload.data === `fact number ${r.id.slice(1)} updated`)).toBe(true);
  });
});
