import { loadConfig } from '@app/config';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Memory } from 'mem0ai/oss';

import { withFactCap } from './fact-cap';
import { buildMem0Config } from './mem0-config';
import {
  addHistoryEntry,
  capExtractedFacts,
  closeStores,
  countMemories,
  deleteMemory,
  eraseUser,
  factEntities,
  searchEntities,
  searchWithCandidates,
  tuneHistoryFile,
} from './mem0-internals';
import { searchMemories } from './memory-search';
import {
  migrateSqlTestDatabase,
  SQL_TEST_URL,
  uniqueCollection,
} from '../../../test/support/sql-stores';
import { registerSqliteVecStore, registerSqlStores } from './vector-store/register';
import { SqlHistoryManager } from './vector-store/sql-history';
import { SqlVectorStore } from './vector-store/sql.store';

/**
 * The contract between mem0-internals.ts and the installed mem0ai: the private fields, tables
 * and method shapes it relies on, checked on a real Mem0 `Memory` built from the project's
 * configuration in a temporary directory. Nothing leaves the process: the model and the embedder
 * are replaced by local stand-ins after construction. When mem0ai is upgraded, the first test
 * fails on purpose: run the others against the new version, read what changed in Memory's
 * private parts, mend mem0-internals.ts, then move CHECKED_VERSION.
 */
const CHECKED_VERSION = '3.3.1';
const DIMS = 8;

const ALICE = '6f1c2d3e-4b5a-4c6d-8e7f-000000000001';
const BOB = '6f1c2d3e-4b5a-4c6d-8e7f-000000000002';

type Sqlite = {
  prepare(sql: string): {
    all(...params: unknown[]): unknown[];
    get(...params: unknown[]): unknown;
  };
  pragma(source: string, options?: { simple: boolean }): unknown;
  transaction: unknown;
};

/** The private parts of Memory this file looks at, as mem0-internals.ts expects them. */
interface Private {
  db: {
    db?: Sqlite;
    memoryStore?: unknown;
    addHistory: unknown;
    constructor: { name: string };
  };
  llm: { generateResponse: (...args: unknown[]) => Promise<unknown> };
  embedder: {
    embed: (text: string, action?: string) => Promise<number[]>;
    embedBatch: (texts: string[], action?: string) => Promise<number[][]>;
  };
  vectorStore: Record<'list' | 'delete' | 'purgeDeleted', unknown>;
  _entityStore?: unknown;
  getEntityStore(): Promise<{
    list(filters: Record<string, string>, limit: number): Promise<[{ id: string }[], number]>;
    delete: unknown;
  }>;
}

const dir = mkdtempSync(join(tmpdir(), 'mem0-contract-'));
// Mem0 keeps a telemetry id file in MEM0_DIR, read when an instance starts.
process.env.MEM0_DIR = join(dir, 'home');

let instances = 0;

/**
 * A Memory on the project's configuration (fresh files each time), as createMem0 builds it; on
 * `databaseUrl` (MySQL/MariaDB) its stores are the SQL ones, in a collection of its own.
 */
async function createMemory(
  overrides: Record<string, unknown> = {},
  databaseUrl?: string,
): Promise<Memory> {
  const config = loadConfig({
    DATA_DIR: join(dir, `instance-${++instances}`),
    JWT_SECRET: 'k'.repeat(32),
    OPENAI_API_KEY: 'unused',
    // Nothing listens here: a call that reached the network would fail the test.
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    EMBEDDING_DIMS: String(DIMS),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const mem0 = await import('mem0ai/oss');
  registerSqliteVecStore(mem0);
  registerSqlStores(mem0);
  const built = buildMem0Config(config);
  if (databaseUrl) {
    (built.vectorStore as { config: Record<string, unknown> }).config.collectionName =
      uniqueCollection('contract');
  }
  return new mem0.Memory({ ...built, ...overrides });
}

const internals = (memory: Memory) => memory as unknown as Private;

function installedVersion(): string {
  // dist/oss/index.js → the package root (its package.json is not in the exports map).
  const root = join(dirname(require.resolve('mem0ai/oss')), '..', '..');
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** A deterministic unit vector per text: equal texts embed alike, others differ. */
function embedding(text: string): number[] {
  const bytes = createHash('sha256').update(text).digest();
  const vector = Array.from({ length: DIMS }, (_, i) => bytes[i] - 127.5);
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

function columns(sql: Sqlite, table: string): string[] {
  return (sql.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map(
    (c) => c.name,
  );
}

const facts = (...texts: string[]) =>
  JSON.stringify({
    memory: texts.map((text, i) => ({ id: String(i), text, attributed_to: 'user' })),
  });

/**
 * Replaces the model and the embedder with local stand-ins, before the fact cap wraps the model
 * client (as createMem0 does); `learn` then adds a turn whose extraction answers `answer`.
 */
function withStandIns(memory: Memory) {
  const answers: string[] = [];
  const own = internals(memory);
  own.llm.generateResponse = () => Promise.resolve(answers.shift() ?? '{"memory": []}');
  own.embedder = {
    embed: (text) => Promise.resolve(embedding(text)),
    embedBatch: (texts) => Promise.resolve(texts.map(embedding)),
  };
  capExtractedFacts(memory);
  return (userId: string, answer: string, max = Number.MAX_SAFE_INTEGER) => {
    answers.push(answer);
    return withFactCap(max, () =>
      memory.add([{ role: 'user', content: 'Something about me.' }], {
        userId,
        metadata: { session_id: 's1' },
      }),
    );
  };
}

const ids = async (memory: Memory, userId: string) =>
  (await memory.getAll({ filters: { user_id: userId } })).results.map((m) => m.id);

describe(`Mem0 internals, as mem0-internals.ts uses them (mem0ai ${installedVersion()})`, () => {
  it(`is the mem0ai version they were last checked against (${CHECKED_VERSION})`, () => {
    const installed = installedVersion();
    if (installed !== CHECKED_VERSION) {
      throw new Error(
        `mem0ai ${installed} is installed; mem0-internals.ts was checked against ` +
          `${CHECKED_VERSION}. Read this file's other results, mend mem0-internals.ts, then ` +
          'move CHECKED_VERSION.',
      );
    }
  });

  it('has the private fields and method shapes relied on', async () => {
    const memory = internals(await createMemory());
    expect(typeof memory.llm.generateResponse).toBe('function');
    for (const method of ['list', 'delete', 'purgeDeleted'] as const) {
      expect([method, typeof memory.vectorStore[method]]).toEqual([method, 'function']);
    }
    const entities = await memory.getEntityStore();
    expect(typeof entities.list).toBe('function');
    expect(typeof entities.delete).toBe('function');
    // The SQLite history store: a better-sqlite3 handle as `db.db`.
    const sql = memory.db.db!;
    for (const method of ['prepare', 'transaction', 'pragma'] as const) {
      expect([method, typeof sql[method]]).toEqual([method, 'function']);
    }
    expect(columns(sql, 'memory_history')).toEqual(
      expect.arrayContaining(['memory_id', 'previous_value', 'new_value', 'action']),
    );
    expect(columns(sql, 'messages')).toEqual(
      expect.arrayContaining(['session_scope', 'role', 'content']),
    );
  });

  it('keeps the other history providers where erasure looks for them', async () => {
    const inMemory = internals(await createMemory({ historyStore: { provider: 'memory' } }));
    expect(inMemory.db.memoryStore).toBeInstanceOf(Map);
    const none = internals(await createMemory({ disableHistory: true }));
    expect(none.db.constructor.name).toBe('DummyHistoryManager');
    // addHistoryEntry writes through every one of them.
    for (const store of [inMemory, none]) expect(typeof store.db.addHistory).toBe('function');
  });

  it('lets the history file be tuned: WAL and the synchronous setting', async () => {
    const memory = await createMemory();
    tuneHistoryFile(memory, 'NORMAL');
    const sql = internals(memory).db.db!;
    expect(sql.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sql.pragma('synchronous', { simple: true })).toBe(1);
  });

  it.each([
    ['in memory', 1, { historyStore: { provider: 'memory', config: {} } }],
    ['switched off', 0, { disableHistory: true }],
  ])('erases with the history %s', async (_name, rowsPerMemory, overrides) => {
    const memory = await createMemory(overrides);
    const learn = withStandIns(memory);
    await learn(ALICE, facts('Alice Moreau lives in Porto.'));
    await learn(BOB, facts('Bob Lindqvist lives in Oslo.'));
    const [alice] = await ids(memory, ALICE);
    const [bob] = await ids(memory, BOB);
    expect(await memory.history(alice)).toHaveLength(rowsPerMemory);
    expect(await eraseUser(memory, ALICE)).toBe(1);
    expect(await memory.history(alice)).toEqual([]);
    expect(await ids(memory, ALICE)).toEqual([]);
    expect(await memory.history(bob)).toHaveLength(rowsPerMemory);
  });

  describe('with the SQLite history', () => {
    let memory: Memory;
    let learn: ReturnType<typeof withStandIns>;

    beforeAll(async () => {
      memory = await createMemory();
      learn = withStandIns(memory);
    });

    const sql = () => internals(memory).db.db!;
    const historyRows = (memoryIds: string[]) =>
      memoryIds.flatMap((id) =>
        sql().prepare('SELECT new_value FROM memory_history WHERE memory_id = ?').all(id),
      );
    const scopes = () =>
      (
        sql().prepare('SELECT session_scope FROM messages').all() as { session_scope: string }[]
      ).map((r) => r.session_scope);
    const entityRows = async (userId: string) =>
      (await (await internals(memory).getEntityStore()).list({ user_id: userId }, 100))[0];

    it('reads the extraction answer `{"memory": [...]}` through the private llm: the cap holds', async () => {
      const stored = await learn(
        ALICE,
        facts(
          'Alice Moreau lives in Porto.',
          'Alice Moreau works at Acme Shipping.',
          'I own gadget 3.',
          'I own gadget 4.',
        ),
        2,
      );
      expect(stored.results.map((m) => m.memory)).toEqual([
        'Alice Moreau lives in Porto.',
        'Alice Moreau works at Acme Shipping.',
      ]);
      await learn(BOB, facts('Bob Lindqvist lives in Oslo.'));
      expect(await ids(memory, ALICE)).toHaveLength(2);
    });

    it('counts through the vector store’s list', async () => {
      expect(await countMemories(memory, ALICE, 10)).toBe(2);
      expect(await countMemories(memory, BOB, 10)).toBe(1);
    });

    it('keeps history by memory id, raw messages by a scope ending in user_id=, entities by user', async () => {
      expect(historyRows(await ids(memory, ALICE))).toHaveLength(2);
      expect(scopes()).toEqual(expect.arrayContaining([`user_id=${ALICE}`, `user_id=${BOB}`]));
      expect((await entityRows(ALICE)).length).toBeGreaterThan(0);
    });

    it('takes a row of ours into a memory’s history, read back as Mem0’s own', async () => {
      const [first] = await ids(memory, ALICE);
      await addHistoryEntry(memory, first, {
        action: 'DELETE',
        previousValue: 'Alice Moreau lives in Lisbon.',
        newValue: 'Alice Moreau lives in Porto.',
      });
      const [newest, ...older] = await memory.history(first);
      expect(newest).toMatchObject({
        memory_id: first,
        previous_value: 'Alice Moreau lives in Lisbon.',
        new_value: 'Alice Moreau lives in Porto.',
        action: 'DELETE',
        is_deleted: 0,
      });
      expect(older.map((row) => (row as { action: string }).action)).toEqual(['ADD']);
    });

    it('deletes a memory with its history', async () => {
      const [first] = await ids(memory, ALICE);
      await deleteMemory(memory, first);
      expect(await memory.get(first)).toBeNull();
      expect(historyRows([first])).toEqual([]);
      await learn(ALICE, facts('Alice Moreau has a cat named Miso.'));
    });

    it('erases a user from every private store, and nobody else', async () => {
      const alice = await ids(memory, ALICE);
      const bob = await ids(memory, BOB);
      expect(await eraseUser(memory, ALICE)).toBe(alice.length);
      expect(await ids(memory, ALICE)).toEqual([]);
      expect(historyRows(alice)).toEqual([]);
      expect(scopes()).not.toContain(`user_id=${ALICE}`);
      expect(await entityRows(ALICE)).toEqual([]);

      expect(await ids(memory, BOB)).toEqual(bob);
      expect(historyRows(bob)).toHaveLength(1);
      expect(scopes()).toContain(`user_id=${BOB}`);
      expect((await entityRows(BOB)).length).toBeGreaterThan(0);
    });
  });

  // The same contract on MySQL/MariaDB, where the stores are the project's SQL ones (CI runs it).
  (SQL_TEST_URL ? describe : describe.skip)('with the SQL stores (TEST_DATABASE_URL)', () => {
    let memory: Memory;
    let learn: ReturnType<typeof withStandIns>;
    // Ids of this run only: the database is shared with other runs and spec files.
    const [carol, dave] = [randomUUID(), randomUUID()];

    beforeAll(async () => {
      await migrateSqlTestDatabase(SQL_TEST_URL!);
      memory = await createMemory({}, SQL_TEST_URL);
      learn = withStandIns(memory);
    }, 120_000);
    afterAll(async () => {
      await (internals(memory).vectorStore as unknown as SqlVectorStore).deleteCol();
      await ((await internals(memory).getEntityStore()) as unknown as SqlVectorStore).deleteCol();
      await closeStores(memory);
    });

    const history = () => internals(memory).db as unknown as SqlHistoryManager;
    const historyRows = async (memoryIds: string[]) =>
      (await Promise.all(memoryIds.map((id) => history().getHistory(id)))).flat();
    const messages = (userId: string) => history().getLastMessages(`user_id=${userId}`, 100);
    const entityRows = async (userId: string) =>
      (await (await internals(memory).getEntityStore()).list({ user_id: userId }, 100))[0];

    it('builds the SQL vector store, entity store and history', async () => {
      await learn(carol, facts('Carol Weber lives in Graz.'));
      expect(internals(memory).vectorStore).toBeInstanceOf(SqlVectorStore);
      const entities = await internals(memory).getEntityStore();
      expect(entities).toBeInstanceOf(SqlVectorStore);
      // closeStores finds the entity store there once Mem0 has made it.
      expect(internals(memory)._entityStore).toBe(entities);
      expect(history()).toBeInstanceOf(SqlHistoryManager);
    });

    it('keeps history by memory id, raw messages by user scope, entities by user', async () => {
      await learn(carol, facts('Carol Weber works at Acme Shipping.'));
      await learn(dave, facts('Dave Moreno lives in Cusco.'));
      const carols = await ids(memory, carol);
      expect(carols).toHaveLength(2);
      expect(await historyRows(carols)).toHaveLength(2);
      expect((await memory.history(carols[0]))[0]).toMatchObject({ action: 'ADD' });
      expect((await messages(carol)).length).toBeGreaterThan(0);
      expect((await entityRows(carol)).length).toBeGreaterThan(0);
      expect(await countMemories(memory, carol, 10)).toBe(2);
    });

    it('takes a row of ours into a memory’s history, read back as Mem0’s own', async () => {
      const [first] = await ids(memory, carol);
      await addHistoryEntry(memory, first, {
        action: 'DELETE',
        previousValue: 'Carol Weber lives in Linz.',
        newValue: 'Carol Weber lives in Graz.',
      });
      expect((await memory.history(first))[0]).toMatchObject({
        memory_id: first,
        previous_value: 'Carol Weber lives in Linz.',
        new_value: 'Carol Weber lives in Graz.',
        action: 'DELETE',
        is_deleted: 0,
      });
    });

    it('deletes a memory with its history', async () => {
      const [first] = await ids(memory, carol);
      await deleteMemory(memory, first);
      expect(await memory.get(first)).toBeNull();
      expect(await historyRows([first])).toEqual([]);
    });

    it('erases a user from every store, and nobody else', async () => {
      const carols = await ids(memory, carol);
      const daves = await ids(memory, dave);
      expect(await eraseUser(memory, carol)).toBe(carols.length);
      expect(await ids(memory, carol)).toEqual([]);
      expect(await historyRows(carols)).toEqual([]);
      expect(await messages(carol)).toEqual([]);
      expect(await entityRows(carol)).toEqual([]);

      expect(await ids(memory, dave)).toEqual(daves);
      expect(await historyRows(daves)).toHaveLength(1);
      expect((await messages(dave)).length).toBeGreaterThan(0);
      expect((await entityRows(dave)).length).toBeGreaterThan(0);
    });
  });

  const searchStores: [string, string | undefined][] = [
    ['sqlite-vec', undefined],
    ...(SQL_TEST_URL ? [['sql (TEST_DATABASE_URL)', SQL_TEST_URL] as [string, string]] : []),
  ];
  describe.each(searchStores)(
    'its search, as searchMemories fuses it (%s)',
    (_store, databaseUrl) => {
      let memory: Memory;
      const [user, other] = [randomUUID(), randomUUID()];
      const TARGET = 'Booked the Zanzibar ferry for the second week of May.';
      const NEIGHBOURS = Array.from(
        { length: 70 },
        (_, i) => `Note ${i}: watered the garden early.`,
      );

      /**
       * Vectors chosen so that the vector index ranks the target last: the query and the 70
       * neighbours point one way (cosine ≈ 0.99), the target's text another (cosine 0).
       */
      function vectorOf(text: string): number[] {
        if (text.includes('ferry')) return [0, 1, 0, 0, 0, 0, 0, 0];
        const noise = embedding(text).map((x) => x * 0.05);
        const v = [1, 0, 0, 0, 0, 0, 0, 0].map((x, i) => x + (i === 1 ? 0 : noise[i]));
        const norm = Math.hypot(...v);
        return v.map((x) => x / norm);
      }

      beforeAll(async () => {
        if (databaseUrl) await migrateSqlTestDatabase(databaseUrl);
        memory = await createMemory({}, databaseUrl);
        internals(memory).embedder = {
          embed: (text) => Promise.resolve(vectorOf(text)),
          embedBatch: (texts) => Promise.resolve(texts.map(vectorOf)),
        };
        for (const text of [...NEIGHBOURS, TARGET]) {
          await memory.add(text, { userId: user, infer: false, metadata: { session_id: 's1' } });
        }
        await memory.add('Moved to Zanzibar in 2020.', { userId: other, infer: false });
      }, 120_000);
      afterAll(async () => {
        await eraseUser(memory, user);
        await eraseUser(memory, other);
        await closeStores(memory);
      });

      const ask = (mode: 'fused' | 'mem0', query: string, threshold?: number) =>
        searchMemories(memory, mode, { userId: user, query, limit: 5, threshold });

      it('finds by its words a memory the vector index ranks last, where Mem0’s search cannot', async () => {
        const query = 'When is the trip to Zanzibar?';
        expect((await ask('mem0', query)).map((r) => r.memory)).not.toContain(TARGET);
        const fused = await ask('fused', query);
        expect(fused[0].memory).toBe(TARGET);
        expect(fused).toHaveLength(5);
        for (const result of fused) expect(result.score).toBeGreaterThan(0);
        expect(fused.map((r) => r.user_id)).toEqual(Array(5).fill(user));
      });

      it('hands the keyword index Mem0’s lemmatized query: “booking” finds “Booked”', async () => {
        const { candidates } = await searchWithCandidates(memory, 240, () =>
          memory.search('booking', { filters: { user_id: user }, topK: 1 }),
        );
        expect(candidates.keyword.map((c) => c.payload.data)).toEqual([TARGET]);
        expect(candidates.semantic).toHaveLength(71);
      });

      it('keeps Mem0’s result shape, and only the user’s memories', async () => {
        const fused = await ask('fused', 'garden Zanzibar');
        const own = await memory.search('garden Zanzibar', {
          filters: { user_id: user },
          topK: 100,
          threshold: 0,
        });
        const byId = new Map(own.results.map((r) => [r.id, r]));
        expect(fused.length).toBeGreaterThan(1);
        for (const result of fused) {
          expect({ ...result, score: 0 }).toEqual({ ...byId.get(result.id)!, score: 0 });
        }
      });

      it('with a threshold, keeps only memories that close by cosine', async () => {
        const found = await ask('fused', 'When is the trip to Zanzibar?', 0.5);
        expect(found.map((r) => r.memory)).not.toContain(TARGET);
        expect(found).toHaveLength(5);
      });

      it('keeps concurrent searches’ candidates apart', async () => {
        const [mine, theirs] = await Promise.all([
          ask('fused', 'Zanzibar'),
          searchMemories(memory, 'fused', { userId: other, query: 'Zanzibar', limit: 5 }),
          memory.search('garden', { filters: { user_id: user }, topK: 3 }),
        ]);
        expect(mine[0].memory).toBe(TARGET);
        expect(theirs.map((r) => r.memory)).toEqual(['Moved to Zanzibar in 2020.']);
      });
    },
  );

  describe('its entity extraction, as batched embeddings foresee it', () => {
    const MANY =
      'Anna Schmidt, Bob Lindqvist, Carla Diaz, Dmitri Orlov, Eva Green, Farid Khan, ' +
      'Greta Berg, Hugo Lind, Ines Costa and Jonas Weber met in Porto.';
    const QUERIES = [
      'My friend Anna Schmidt from Porto started the cello in 1991',
      'When did Anna Schmidt start?',
      'Where is "the old mill" on github.com?',
      MANY,
      'Hi, how are you?',
    ];
    let memory: Memory;
    /** Every embedding call Mem0 makes, with its action. */
    let calls: { texts: string[]; action?: string; batch: boolean }[];

    beforeAll(async () => {
      memory = await createMemory();
      const own = internals(memory);
      own.llm.generateResponse = () =>
        Promise.resolve(
          facts('Alice Moreau lives in Porto.', 'I like chess.', MANY, 'Alice Moreau met Bob.'),
        );
      own.embedder = {
        embed: (text, action) => {
          calls.push({ texts: [text], action, batch: false });
          return Promise.resolve(embedding(text));
        },
        embedBatch: (texts, action) => {
          calls.push({ texts, action, batch: true });
          return Promise.resolve(texts.map(embedding));
        },
      };
    });
    beforeEach(() => {
      calls = [];
    });

    it('is Mem0’s OpenAIEmbedder on the project configuration', async () => {
      const { OpenAIEmbedder } = await import('mem0ai/oss');
      expect(internals(await createMemory()).embedder).toBeInstanceOf(OpenAIEmbedder);
    });

    it.each(QUERIES)(
      'a search embeds the query, then exactly the foreseen entities: %s',
      async (query) => {
        await memory.search(query, { filters: { user_id: ALICE } });
        const expected = await searchEntities(memory, query);
        expect(calls).toEqual([
          { texts: [query], action: 'search', batch: false },
          ...(expected.length > 0 ? [{ texts: expected, action: 'search', batch: true }] : []),
        ]);
        if (query === MANY) expect(expected).toHaveLength(8);
      },
    );

    it('an add embeds the turn, the facts, then only foreseen entities', async () => {
      await memory.add([{ role: 'user', content: 'Something about me.' }], { userId: BOB });
      const [turn, stored, linked, ...more] = calls;
      expect(turn).toEqual({
        texts: ['user: Something about me.'],
        action: 'search',
        batch: false,
      });
      expect(stored).toMatchObject({ action: 'add', batch: true });
      expect(linked).toMatchObject({ action: 'add', batch: true });
      expect(more).toEqual([]);
      expect(linked.texts.length).toBeGreaterThan(8);
      expect(await factEntities(memory, stored.texts)).toEqual(
        expect.arrayContaining(linked.texts),
      );
    });

    it('is foreseen on a stand-in: no embedding, no entity row', async () => {
      const rows = async () =>
        (await (await internals(memory).getEntityStore()).list({ user_id: ALICE }, 100))[0];
      const before = await rows();
      expect(await factEntities(memory, ['Carla Diaz moved to Lyon.'])).toEqual(
        expect.arrayContaining(['Carla Diaz', 'Lyon']),
      );
      expect(await searchEntities(memory, 'Ask Greta Berg')).toEqual(['Greta Berg']);
      expect(calls).toEqual([]);
      expect(await rows()).toEqual(before);
    });
  });

  describe('its NLP, shared by the foreseeing pass and Mem0’s own (shareNlpParses)', () => {
    const TEXTS = [
      'My friend Anna Schmidt from Porto started the cello in 1991.',
      'Ana Silva moved from Porto to Berlin and works on the "Blue Harbour" project at Acme GmbH.',
      'The red vintage bicycle in the garden shed belongs to my younger brother Tomás.',
      'Hi, how are you?',
    ];

    /**
     * Each text's entities, twice, in a plain Node process (Jest keeps its own module registry,
     * which the sharing does not reach), with or without the sharing; and its counts.
     */
    function entitiesInProcess(shared: boolean): {
      entities: string[][];
      counts: { parsed: number; reused: number };
    } {
      const script = `
        const internals = require(${JSON.stringify(join(__dirname, 'mem0-internals.ts'))});
        if (${shared}) internals.shareNlpParses();
        const { Memory } = require('mem0ai/oss');
        (async () => {
          const memory = Object.create(Memory.prototype);
          const texts = ${JSON.stringify(TEXTS)};
          const entities = [];
          for (const text of [...texts, ...texts]) entities.push(await internals.factEntities(memory, [text]));
          process.stdout.write(JSON.stringify({ entities, counts: internals.nlpParses }));
        })();`;
      const out = execFileSync(
        process.execPath,
        ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script],
        { cwd: join(__dirname, '..', '..', '..'), encoding: 'utf8' },
      );
      return JSON.parse(out) as ReturnType<typeof entitiesInProcess>;
    }

    it('parses each text once and finds exactly the entities it finds without sharing', () => {
      const alone = entitiesInProcess(false);
      const shared = entitiesInProcess(true);
      expect(alone.counts).toEqual({ parsed: 0, reused: 0 });
      expect(shared.entities).toEqual(alone.entities);
      expect(shared.entities[1]).toEqual(expect.arrayContaining(['Ana Silva', 'Porto', 'Berlin']));
      expect(shared.counts).toEqual({ parsed: TEXTS.length, reused: TEXTS.length });
    });
  });
});
