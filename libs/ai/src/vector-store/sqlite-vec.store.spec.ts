import Database from 'better-sqlite3';
import { MemoryVectorStore } from 'mem0ai/oss';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteVecStore } from './sqlite-vec.store';

const DIM = 4;
const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.01 * i));

describe('SqliteVecStore', () => {
  let dir: string;
  const open = (extra: Record<string, unknown> = {}) =>
    new SqliteVecStore({ dimension: DIM, dbPath: join(dir, 'vectors.db'), ...extra });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-vec-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its rows across a reopen', async () => {
    const first = open();
    await first.initialize();
    await first.insert([unit(1)], ['m1'], [{ user_id: 'u', data: 'kept on disk' }]);
    first.close();
    const second = open();
    await second.initialize();
    expect(await second.get('m1')).toEqual({
      id: 'm1',
      payload: { user_id: 'u', data: 'kept on disk' },
    });
    expect((await second.keywordSearch('disk', 5, { user_id: 'u' }))?.[0]?.id).toBe('m1');
    second.close();
  });

  it('keeps a collection and its entity collection apart in one file', async () => {
    const memories = open({ collectionName: 'memories' });
    const entities = open({ collectionName: 'memories_entities' });
    await memories.initialize();
    await entities.initialize();
    await memories.insert([unit(1)], ['m1'], [{ user_id: 'u', data: 'Ana likes Lisbon' }]);
    await entities.insert(
      [unit(1)],
      ['e1'],
      [{ user_id: 'u', data: 'lisbon', linkedMemoryIds: ['m1'] }],
    );
    expect((await memories.list({ user_id: 'u' }))[0].map((r) => r.id)).toEqual(['m1']);
    expect((await entities.list({ user_id: 'u' }))[0].map((r) => r.id)).toEqual(['e1']);
    memories.close();
    entities.close();
  });

  it('refuses to open a collection holding vectors of another dimension', async () => {
    const store = open();
    await store.initialize();
    await store.insert([unit(1)], ['m1'], [{ user_id: 'u', data: 'four numbers' }]);
    store.close();
    const other = new SqliteVecStore({ dimension: 8, dbPath: join(dir, 'vectors.db') });
    expect(await other.storedDimension()).toBe(4);
    await expect(other.initialize()).rejects.toThrow(/4-dimension vectors.*gives 8.*re-embed/);
    other.close();
  });

  it('tells the size of the vectors it holds, and remakes an empty collection at a new size', async () => {
    const store = open();
    expect(await store.storedDimension()).toBeUndefined();
    await store.initialize();
    expect(await store.storedDimension()).toBeUndefined();
    store.close();
    const wider = new SqliteVecStore({ dimension: 8, dbPath: join(dir, 'vectors.db') });
    await wider.initialize();
    await wider.insert([[1, 0, 0, 0, 0, 0, 0, 0]], ['m1'], [{ user_id: 'u', data: 'eight' }]);
    expect(await wider.storedDimension()).toBe(8);
    expect((await wider.search([1, 0, 0, 0, 0, 0, 0, 0], 1, { user_id: 'u' }))[0].id).toBe('m1');
    wider.close();
  });

  it('refuses a collection name that is not a plain identifier', () => {
    expect(() => open({ collectionName: 'x"; DROP TABLE y; --' })).toThrow(/invalid collection/);
  });

  it('finds the nearest rows of one user among many with KNN, beyond 4096 asked', async () => {
    const store = open();
    await store.initialize();
    const n = 300;
    await store.insert(
      Array.from({ length: n }, (_, i) => unit(i)),
      Array.from({ length: n }, (_, i) => `m${i}`),
      Array.from({ length: n }, (_, i) => ({ user_id: `u${i % 3}`, data: `row ${i}` })),
    );
    const found = await store.search(unit(4), 5000, { user_id: 'u1' });
    expect(found).toHaveLength(100);
    expect(found.every((r) => r.payload.user_id === 'u1')).toBe(true);
    expect(found[0].id).toBe('m4');
    store.close();
  });

  it("imports mem0's memory-store files once and sets them aside", async () => {
    const oldPath = join(dir, 'vector_store.db');
    const old = new MemoryVectorStore({ dimension: DIM, dbPath: oldPath });
    await old.insert(
      [unit(1), unit(2)],
      ['m1', 'm2'],
      [
        { userId: 'u', data: 'I like tea' },
        { user_id: 'v', data: 'I like coffee' },
      ],
    );
    (old as unknown as { db: Database.Database }).db.close();

    const store = open({ migrateFrom: { memories: oldPath } });
    await store.initialize();
    expect((await store.search(unit(1), 5, { user_id: 'u' }))[0]).toMatchObject({ id: 'm1' });
    expect((await store.keywordSearch('coffee', 5, { user_id: 'v' }))?.[0]?.id).toBe('m2');
    expect(existsSync(oldPath)).toBe(false);
    expect(existsSync(`${oldPath}.migrated`)).toBe(true);
    store.close();

    const again = open({ migrateFrom: { memories: `${oldPath}.migrated` } });
    await again.initialize();
    expect((await again.list({ user_id: '*' }))[1]).toBe(2);
    again.close();
  });

  it('leaves no word of a purged row in its files', async () => {
    const store = open();
    await store.initialize();
    await store.insert(
      Array.from({ length: 50 }, (_, i) => unit(i)),
      Array.from({ length: 50 }, (_, i) => `m${i}`),
      Array.from({ length: 50 }, (_, i) => ({ user_id: 'u', data: `filler text number ${i}` })),
    );
    await store.insert([unit(60)], ['secret'], [{ user_id: 'u', data: 'zanzibarsecret' }]);
    await store.delete('secret');
    await store.purgeDeleted();
    store.close();
    const bytes = ['vectors.db', 'vectors.db-wal']
      .filter((f) => existsSync(join(dir, f)))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(bytes.join('')).not.toContain('zanzibarsecret');
  });
});
