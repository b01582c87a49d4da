import { loadConfig } from '@app/config';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Memory } from 'mem0ai/oss';

import { buildMem0Config } from './mem0-config';
import { countMemories, deleteMemory, eraseUser } from './mem0-internals';
import { QdrantClientDouble } from '../../../test/support/qdrant-double';

/**
 * What mem0-internals.ts does behind Mem0's public API (count, delete with history, erase a user
 * with their entities) on another store than the embedded one: Mem0's own Qdrant store, built
 * from VECTOR_STORE=qdrant, talking to an in-process double of Qdrant's client (no server can run
 * here). This proves the generic path through Mem0's VectorStore interface (Qdrant's filters,
 * its list that counts only the page it returns, its `<name>_entities` collection); it does not
 * prove a real Qdrant server behaves as the double does.
 */
const DIMS = 8;
const ALICE = '6f1c2d3e-4b5a-4c6d-8e7f-000000000001';
const BOB = '6f1c2d3e-4b5a-4c6d-8e7f-000000000002';

const dir = mkdtempSync(join(tmpdir(), 'mem0-stores-'));
process.env.MEM0_DIR = join(dir, 'home');

function embedding(text: string): number[] {
  const bytes = createHash('sha256').update(text).digest();
  return Array.from({ length: DIMS }, (_, i) => bytes[i] - 127.5);
}

interface Private {
  llm: { generateResponse: (...args: unknown[]) => Promise<unknown> };
  embedder: {
    embed: (text: string) => Promise<number[]>;
    embedBatch: (texts: string[]) => Promise<number[][]>;
  };
  getEntityStore(): Promise<{ list(f: object, n: number): Promise<[{ id: string }[], number]> }>;
}

async function qdrantMemory(client: QdrantClientDouble) {
  const config = loadConfig({
    DATA_DIR: join(dir, `instance-${Math.random().toString(36).slice(2)}`),
    JWT_SECRET: 'k'.repeat(32),
    OPENAI_API_KEY: 'unused',
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    EMBEDDING_DIMS: String(DIMS),
    VECTOR_STORE: 'qdrant',
    QDRANT_URL: 'http://127.0.0.1:9',
  });
  const built = buildMem0Config(config);
  (built.vectorStore as { config: Record<string, unknown> }).config.client = client;
  const mem0 = await import('mem0ai/oss');
  const memory = new mem0.Memory(built);
  const answers: string[] = [];
  const own = memory as unknown as Private;
  own.llm.generateResponse = () => Promise.resolve(answers.shift() ?? '{"memory": []}');
  own.embedder = {
    embed: (text) => Promise.resolve(embedding(text)),
    embedBatch: (texts) => Promise.resolve(texts.map(embedding)),
  };
  const learn = (userId: string, ...texts: string[]) => {
    answers.push(JSON.stringify({ memory: texts.map((text, i) => ({ id: String(i), text })) }));
    return memory.add([{ role: 'user', content: 'About me.' }], { userId });
  };
  return { memory, learn };
}

const ids = async (memory: Memory, userId: string) =>
  (await memory.getAll({ filters: { user_id: userId }, topK: 100 })).results.map((m) => m.id);
const entities = async (memory: Memory, userId: string) =>
  (await (await (memory as unknown as Private).getEntityStore()).list({ user_id: userId }, 100))[0];

describe('mem0-internals on Mem0’s Qdrant store (client double)', () => {
  const client = new QdrantClientDouble();
  let memory: Memory;

  beforeAll(async () => {
    const made = await qdrantMemory(client);
    memory = made.memory;
    await made.learn(ALICE, 'Alice Moreau lives in Porto.', 'Alice Moreau works at Acme Shipping.');
    await made.learn(BOB, 'Bob Lindqvist lives in Oslo.');
  });

  it('keeps memories and their entities in Qdrant collections of the configured size', () => {
    expect(client.collections.get('memories')?.size).toBe(DIMS);
    expect(client.collections.get('memories_entities')?.size).toBe(DIMS);
    expect(client.collections.get('memories')?.points.size).toBe(3);
  });

  it('counts one user’s memories although Qdrant’s list only counts its page', async () => {
    expect(await countMemories(memory, ALICE, 10)).toBe(2);
    expect(await countMemories(memory, BOB, 10)).toBe(1);
  });

  it('deletes a memory with its history', async () => {
    const [first] = await ids(memory, ALICE);
    expect(await memory.history(first)).toHaveLength(1);
    await deleteMemory(memory, first);
    expect(await memory.get(first)).toBeNull();
    expect(await memory.history(first)).toEqual([]);
  });

  it('erases a user’s memories, history and entities, and nobody else’s', async () => {
    const alice = await ids(memory, ALICE);
    const bob = await ids(memory, BOB);
    expect((await entities(memory, ALICE)).length).toBeGreaterThan(0);
    expect(await eraseUser(memory, ALICE)).toBe(alice.length);
    expect(await ids(memory, ALICE)).toEqual([]);
    expect(await entities(memory, ALICE)).toEqual([]);
    for (const id of alice) expect(await memory.history(id)).toEqual([]);
    const left = [...client.collections.get('memories')!.points.values()];
    expect(left.map((p) => p.payload.user_id)).toEqual([BOB]);
    expect(await ids(memory, BOB)).toEqual(bob);
    expect((await entities(memory, BOB)).length).toBeGreaterThan(0);
  });

  it('is refused by Mem0 on a collection of another size (its own check, on first use)', async () => {
    const other = new QdrantClientDouble();
    await other.createCollection('memories', { vectors: { size: DIMS * 2 } });
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { memory: refused } = await qdrantMemory(other);
      await expect(ids(refused, ALICE)).rejects.toThrow(
        `Collection memories exists but has wrong vector size. Expected: ${DIMS}, got: ${DIMS * 2}`,
      );
    } finally {
      errors.mockRestore();
    }
  });
});
