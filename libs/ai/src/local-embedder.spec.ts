import { loadConfig, LOCAL_EMBEDDING_DIMS } from '@app/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

import {
  createLocalEmbedder,
  LocalEmbedder,
  LocalEmbeddingThread,
  TextEmbeddings,
  withLocalEmbeddings,
} from './local-embedder';
import { loadLocalModel } from './local-model';
import { buildMem0Config } from './mem0-config';
import { createEmbedder, createMem0 } from './mem0-instance';
import { closeStores } from './mem0-internals';

const dir = mkdtempSync(join(tmpdir(), 'local-embedder-spec-'));
// Mem0 keeps a telemetry id file in MEM0_DIR, read when an instance starts.
process.env.MEM0_DIR = join(dir, 'home');

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

/** 200 different sentences, as an extraction or a re-embed batch would send. */
const SENTENCES = Array.from(
  { length: 200 },
  (_, i) => `Fact number ${i}: my neighbour's dog ${i % 7 === 0 ? 'barks at night' : 'sleeps'}.`,
);

/**
 * Runs `work` while a 5 ms interval ticks on this thread; the longest the event loop went without
 * a tick, and how long `work` took.
 */
async function blockedWhile(work: () => Promise<unknown>): Promise<{ gap: number; took: number }> {
  let last = performance.now();
  let gap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(ticker);
  }
  return { gap: Math.max(gap, performance.now() - last), took: performance.now() - started };
}

describe('the local embedder', () => {
  let embedder: LocalEmbedder;

  beforeAll(async () => {
    embedder = await createLocalEmbedder();
  }, 30_000);
  afterAll(() => embedder.close());

  it('makes 512-dimension unit vectors, the same for a text alone and in a batch', async () => {
    expect(embedder.dimension).toBe(LOCAL_EMBEDDING_DIMS);
    const texts = ['I am allergic to peanuts', '', 'The weather in Lisbon is nice'];
    const vectors = await embedder.embedDocuments(texts);
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(512);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
    const alone = await embedder.embedQuery(texts[2]);
    expect(dot(alone, vectors[2])).toBeCloseTo(1, 5);
    expect(await embedder.embedDocuments([])).toEqual([]);
  });

  it('scores related sentences above unrelated ones', async () => {
    const [peanuts, nuts, weather] = await embedder.embedDocuments([
      'I am allergic to peanuts',
      'nuts make me sick',
      'The weather in Lisbon is nice',
    ]);
    expect(dot(peanuts, nuts)).toBeGreaterThan(dot(peanuts, weather) + 0.2);
    expect(dot(peanuts, nuts)).toBeGreaterThan(dot(nuts, weather) + 0.2);

    const memories = [
      'My sister lives in Berlin',
      'I am allergic to peanuts',
      'I work as a nurse at the city hospital',
    ];
    const stored = await embedder.embedDocuments(memories);
    const query = await embedder.embedQuery('What food should I avoid?');
    const ranked = memories
      .map((memory, i) => ({ memory, score: dot(query, stored[i]) }))
      .sort((a, b) => b.score - a.score);
    expect(ranked[0].memory).toBe('I am allergic to peanuts');
  });

  it('runs the model on another thread: this event loop keeps ticking through 200 sentences', async () => {
    const thread = embedder as LocalEmbeddingThread;
    expect(thread.threadId).toBeDefined();
    expect(thread.threadId).not.toBe(threadId);

    const inThread = await loadLocalModel();
    const here = await blockedWhile(() => inThread.embed(SENTENCES));
    const off = await blockedWhile(() => embedder.embedDocuments(SENTENCES));
    // In this thread the loop waits through whole inferences; beside it, only for scheduling.
    expect(here.gap).toBeGreaterThan(50);
    expect(off.gap).toBeLessThan(here.gap / 2);
    expect(off.took).toBeGreaterThan(off.gap * 2);
  }, 60_000);

  it('starts a thread again after one died, and fails only the calls it had', async () => {
    const thread = new LocalEmbeddingThread();
    try {
      await thread.warmedUp();
      const first = thread.threadId;
      const inFlight = thread.embedDocuments(SENTENCES);
      const worker = (thread as unknown as { worker: { terminate(): Promise<number> } }).worker;
      await worker.terminate();
      await expect(inFlight).rejects.toThrow('The local embedding thread exited');
      const again = await thread.embedQuery('I am allergic to peanuts');
      expect(again).toHaveLength(512);
      expect(thread.threadId).not.toBe(first);
    } finally {
      await thread.close();
    }
    await expect(thread.embedQuery('x')).rejects.toThrow('The local embedder is closed');
  }, 60_000);

  it('starts a thread again after one could not load the model', async () => {
    const thread = new LocalEmbeddingThread();
    try {
      const waiting = thread.embedQuery('I am allergic to peanuts');
      const worker = (thread as unknown as { worker: NodeJS.EventEmitter & { threadId: number } })
        .worker;
      // What the thread says when the model fails to load (the real load is still running).
      worker.emit('message', { ready: false, error: 'Backend not initialized' });
      await expect(waiting).rejects.toThrow('Backend not initialized');
      expect(await thread.embedQuery('I am allergic to peanuts')).toHaveLength(512);
      expect(thread.threadId).not.toBe(worker.threadId);
    } finally {
      await thread.close();
    }
  }, 60_000);
});

describe('Mem0 on EMBEDDING_PROVIDER=local', () => {
  const mem0Config = buildMem0Config(
    loadConfig({ DATA_DIR: dir, JWT_SECRET: 'k'.repeat(32), EMBEDDING_PROVIDER: 'local' }),
  );
  /** Stands in for the model: a fixed unit vector, and a record of what was asked. */
  const fake = (): TextEmbeddings & { asked: string[] } => {
    const unit = Array.from({ length: 512 }, (_, i) => (i === 0 ? 1 : 0));
    const asked: string[] = [];
    return {
      asked,
      embedQuery: (text) => {
        asked.push(text);
        return Promise.resolve(unit);
      },
      embedDocuments: (texts) => {
        asked.push(...texts);
        return Promise.resolve(texts.map(() => unit));
      },
    };
  };

  it('embeds through the given embeddings, unbatched, and refuses to start without them', async () => {
    const embeddings = fake();
    const memory = await createMem0(mem0Config, 'NORMAL', embeddings);
    try {
      const own = memory as unknown as { embedder: { constructor: { name: string } } };
      expect(own.embedder.constructor.name).toBe('LangchainEmbedder');
      await memory.search('Which foods make me sick?', {
        filters: { user_id: '00000000-0000-4000-8000-000000000000' },
        topK: 1,
      });
      expect(embeddings.asked).toContain('Which foods make me sick?');
    } finally {
      await closeStores(memory);
    }
    const bulk = fake();
    await (await createEmbedder(mem0Config, bulk)).embedBatch(['a', 'b']);
    expect(bulk.asked).toEqual(['a', 'b']);
    expect(() => withLocalEmbeddings(mem0Config)).toThrow('no local embeddings were given');
  });
});
