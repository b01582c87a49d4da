import { loadConfig } from '@app/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Memory } from 'mem0ai/oss';

import { OpenAiTestDouble } from '../../../test/support/openai-double';
import { buildMem0Config } from './mem0-config';
import { createMem0 } from './mem0-instance';
import { registerSqliteVecStore } from './vector-store/register';

const ALICE = '6f1c2d3e-4b5a-4c6d-8e7f-00000000000a';
const BOB = '6f1c2d3e-4b5a-4c6d-8e7f-00000000000b';

const TURN = [
  'My friend Anna Schmidt from Porto started the cello in 1991.',
  'My sister Ada lives in London.',
  'I like chess.',
  'I live in Lisbon.',
].join(' ');

/** Queries, and how many embedding requests Mem0 as it comes makes for each. */
const QUERIES: [string, number][] = [
  ['When did Anna Schmidt start the cello?', 2],
  ['Who lives in London?', 2],
  ['Tell me about Porto and Lisbon', 2],
  ['what games do I like', 1],
  ['Hi, how are you?', 1],
];

type EntityStore = {
  list(filters: Record<string, string>, limit: number): Promise<[EntityRow[], number]>;
};
type EntityRow = { payload: { data: string; linkedMemoryIds: string[] } };

/**
 * The instance createMem0 builds (embedding requests batched) against Mem0 as it comes, on the
 * same stores, both through the real SDK to the test double: what each learns and finds must be
 * the same, entity boost included, in fewer requests.
 */
describe('Mem0 with batched embeddings', () => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let batched: Memory;
  let plain: Memory;

  /** How many embedding requests `work` makes, with its result. */
  const counted = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    double.clear();
    const result = await work();
    return [result, double.embeddingRequests().length];
  };
  const learn = (memory: Memory, userId: string) =>
    counted(() =>
      memory.add(
        [
          { role: 'user', content: TURN },
          { role: 'assistant', content: 'Noted.' },
        ],
        { userId },
      ),
    );
  const search = (memory: Memory, userId: string, query: string) =>
    counted(async () => (await memory.search(query, { filters: { user_id: userId } })).results);
  const entities = async (memory: Memory, userId: string) => {
    const store = await (
      memory as unknown as { getEntityStore(): Promise<EntityStore> }
    ).getEntityStore();
    const [rows] = await store.list({ user_id: userId }, 100);
    return rows.map((row) => `${row.payload.data} → ${row.payload.linkedMemoryIds.length}`).sort();
  };

  beforeAll(async () => {
    await double.start();
    const config = buildMem0Config(
      loadConfig({
        DATA_DIR: mkdtempSync(join(tmpdir(), 'mem0-batching-')),
        JWT_SECRET: 'k'.repeat(32),
        OPENAI_API_KEY: 'test',
        OPENAI_BASE_URL: double.baseURL,
        EMBEDDING_DIMS: '64',
      }),
    );
    batched = await createMem0(structuredClone(config), 'NORMAL');
    const mem0 = await import('mem0ai/oss');
    registerSqliteVecStore(mem0);
    plain = new mem0.Memory(structuredClone(config));
  });
  afterAll(() => double.stop());

  it('learns the same memories and entities, in two requests instead of three', async () => {
    const [byBatched, batchedRequests] = await learn(batched, ALICE);
    const [byPlain, plainRequests] = await learn(plain, BOB);
    expect([batchedRequests, plainRequests]).toEqual([2, 3]);
    const texts = (added: typeof byPlain) => added.results.map((m) => m.memory);
    expect(texts(byBatched)).toEqual(texts(byPlain));
    expect(texts(byBatched)).toHaveLength(4);
    expect(await entities(batched, ALICE)).toEqual(await entities(plain, BOB));
    expect(await entities(batched, ALICE)).toContain('Anna Schmidt → 1');
  });

  it.each(QUERIES)(
    'finds the same, with the same scores, in one request: %s',
    async (query, plainRequests) => {
      const [found, requests] = await search(batched, ALICE, query);
      const [expected, requestsAsItComes] = await search(plain, ALICE, query);
      expect(found).toEqual(expected);
      expect(found.length).toBeGreaterThan(0);
      expect([requests, requestsAsItComes]).toEqual([1, plainRequests]);
    },
  );

  it('keeps the entity boost: without the entity store the same search scores lower', async () => {
    const [[query]] = QUERIES;
    // Mem0 says so when the boost fails: expected here.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const [boosted] = await search(batched, ALICE, query);
    const own = batched as unknown as { getEntityStore(): Promise<unknown> };
    const getEntityStore = own.getEntityStore.bind(batched);
    own.getEntityStore = () => Promise.reject(new Error('no entity store'));
    try {
      const [unboosted] = await search(batched, ALICE, query);
      const score = (results: typeof boosted, text: string) =>
        results.find((m) => m.memory.startsWith(text))?.score ?? 0;
      expect(score(boosted, 'My friend Anna')).toBeGreaterThan(score(unboosted, 'My friend Anna'));
    } finally {
      own.getEntityStore = getEntityStore;
      warn.mockRestore();
    }
  });
});
