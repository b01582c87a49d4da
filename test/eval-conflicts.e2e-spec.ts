import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ConflictPairs,
  loadConflictPairs,
  measureConflictPairs,
  THRESHOLDS,
} from '../eval/lib/conflicts';
import { LangchainEmbeddings, localEmbedder } from '../eval/lib/embedders';

/**
 * `npm run eval:conflicts` (eval/README.md): the measure behind MEMORY_CONFLICT_SIMILARITY's
 * default for the local embedder. That it reads the shipped pairs and counts right; what the
 * counts are is the benchmark's business.
 */
const PAIRS = join(__dirname, '..', 'eval', 'datasets', 'conflict-pairs.json');

/** Every text a fixed vector: cosines chosen by the test. */
function fixedEmbeddings(vectors: Record<string, number[]>): LangchainEmbeddings {
  const of = (text: string) => {
    const vector = vectors[text];
    if (!vector) throw new Error(`no vector for ${text}`);
    return vector;
  };
  return {
    embedQuery: (text) => Promise.resolve(of(text)),
    embedDocuments: (texts) => Promise.resolve(texts.map(of)),
  };
}

describe('npm run eval:conflicts', () => {
  it('counts, for every threshold, the pairs of each kind at least that close', async () => {
    const pairs: ConflictPairs = {
      updates: [
        ['Lives in Lisbon', 'Moved to Berlin'],
        ['Is vegetarian', 'Is vegan now'],
      ],
      unrelated: [['Has a dog', 'Plays chess']],
    };
    const embedder = fixedEmbeddings({
      // cosine 0.6 with 'Lives in Lisbon'; 0.3 between the vegetarian pair; 0 for the last.
      'Lives in Lisbon': [1, 0],
      'Moved to Berlin': [0.6, 0.8],
      'Is vegetarian': [1, 0],
      'Is vegan now': [0.3, Math.sqrt(1 - 0.09)],
      'Has a dog': [1, 0],
      'Plays chess': [0, 1],
    });
    const measure = await measureConflictPairs(pairs, embedder, [0, 0.3, 0.5, 0.7]);
    expect(measure.updates.map((c) => Number(c.toFixed(6)))).toEqual([0.3, 0.6]);
    expect(measure.unrelated).toEqual([0]);
    expect(measure.rows).toEqual([
      { threshold: 0, caught: 2, needless: 1 },
      { threshold: 0.3, caught: 2, needless: 0 },
      { threshold: 0.5, caught: 1, needless: 0 },
      { threshold: 0.7, caught: 0, needless: 0 },
    ]);
  });

  it('measures the shipped pairs with the local model', async () => {
    const pairs = loadConflictPairs(PAIRS);
    expect(pairs.updates.length).toBeGreaterThanOrEqual(20);
    expect(pairs.unrelated.length).toBeGreaterThanOrEqual(20);
    const embedder = await localEmbedder();
    try {
      const measure = await measureConflictPairs(pairs, embedder);
      expect(measure.updates).toHaveLength(pairs.updates.length);
      expect(measure.unrelated).toHaveLength(pairs.unrelated.length);
      for (const cosine of [...measure.updates, ...measure.unrelated]) {
        expect(cosine).toBeGreaterThanOrEqual(-1);
        expect(cosine).toBeLessThanOrEqual(1.000001);
      }
      expect(measure.rows.map((r) => r.threshold)).toEqual(THRESHOLDS);
    } finally {
      await embedder.close();
    }
  }, 60_000);

  it('refuses a file that is not a list of pairs of texts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conflict-pairs-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ updates: [['only one']], unrelated: [] }));
    expect(() => loadConflictPairs(bad)).toThrow('expected {"updates"');
  });
});
