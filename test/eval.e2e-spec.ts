import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { cleanEvidence, loadDataset, memoryText, SCORED_CATEGORIES } from '../eval/lib/dataset';
import { EvalResult, runEval } from '../eval/lib/harness';
import { CONFIGURATIONS } from '../eval/lib/memories';
import { CUTOFFS, hitAt, recallAt, reciprocalRank, score } from '../eval/lib/scoring';
import { SiblingDatabase, siblingDatabase, TEST_DATABASES } from './support/databases';

/**
 * The retrieval benchmark (`npm run eval`, eval/README.md) on the project's own small dataset,
 * with the test double's deterministic embeddings: it runs end to end through Mem0 and the stores
 * and gives well-formed scores. Whether they are good is the benchmark's business, not this test's.
 */
const DATA = join(__dirname, '..', 'eval', 'datasets', 'household.json');

interface RawQuestion {
  category: number;
  evidence: string[];
}
interface RawSample {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: RawQuestion[];
}
const raw = JSON.parse(readFileSync(DATA, 'utf8')) as RawSample[];

/** The dataset's own counts, read from the file (not through the harness). */
function questionsByCategory(): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const qa of raw.flatMap((s) => s.qa)) counts[qa.category] = (counts[qa.category] ?? 0) + 1;
  return counts;
}

function turnsOf(sample: RawSample): { dia_id: string }[] {
  return Object.entries(sample.conversation)
    .filter(([key]) => /^session_\d+$/.test(key))
    .flatMap(([, turns]) => turns as { dia_id: string }[]);
}

describe('eval: scoring', () => {
  const evidence = ['D1:2', 'D3:1'];
  const ranked = ['D2:2', 'D1:2', 'D2:5', 'D4:1', 'D3:1', 'D4:4'];

  it('recall@k is the fraction of evidence turns in the top k; hit@k whether any is', () => {
    expect([1, 2, 5].map((k) => recallAt(evidence, ranked, k))).toEqual([0, 0.5, 1]);
    expect([1, 2, 5].map((k) => hitAt(evidence, ranked, k))).toEqual([0, 1, 1]);
  });

  it('MRR is the reciprocal rank of the first evidence turn, 0 when none comes back', () => {
    expect(reciprocalRank(evidence, ranked)).toBe(0.5);
    expect(reciprocalRank(evidence, ['D9:9'])).toBe(0);
  });

  it('averages over questions, and a cut-off deeper than the search is not measured', () => {
    const answers = [
      { sample: 's', index: 0, category: 1, evidence, ranked },
      { sample: 's', index: 1, category: 1, evidence: ['D9:9'], ranked: ['D9:9'] },
    ];
    const s = score(answers, 5);
    expect(s).toMatchObject({ n: 2, mrr: 0.75 });
    expect(s.recall[1]).toBe(0.5);
    expect(s.recall[5]).toBe(1);
    expect(s.recall[10]).toBeNaN();
  });

  it("repairs LoCoMo's malformed evidence ids and drops those naming no turn", () => {
    const known = new Set(['D8:6', 'D9:17', 'D11:26', 'D30:5', 'D1:18']);
    expect(cleanEvidence(['D8:6; D9:17', 'D:11:26', 'D30:05', 'D', 'D1:18'], known)).toEqual({
      ids: ['D8:6', 'D9:17', 'D11:26', 'D30:5', 'D1:18'],
      rewritten: 3,
      dropped: 1,
    });
  });

  it('stores a turn as "<speaker>: <text>", with the shared photo\'s caption', () => {
    const turn = { diaId: 'D1:1', session: 1, sessionDate: '', speaker: 'Ana', text: 'Look!' };
    expect(memoryText(turn)).toBe('Ana: Look!');
    expect(memoryText({ ...turn, caption: 'a cat' })).toBe('Ana: Look! [shared a photo: a cat]');
  });
});

describe('eval: the household dataset', () => {
  it('is in the LoCoMo format, with questions of every category naming real turns', () => {
    const dataset = loadDataset(DATA);
    const turns = dataset.samples.reduce((sum, s) => sum + s.turns.length, 0);
    expect(dataset.samples.length).toBeGreaterThanOrEqual(2);
    expect(turns).toBeGreaterThanOrEqual(60);
    expect(turns).toBeLessThanOrEqual(120);
    expect(Object.keys(questionsByCategory()).sort()).toEqual(['1', '2', '3', '4', '5']);
    for (const sample of raw) {
      const ids = new Set(turnsOf(sample).map((t) => t.dia_id));
      for (const qa of sample.qa) {
        expect(qa.evidence.length).toBeGreaterThan(0);
        for (const id of qa.evidence) expect(ids).toContain(id);
      }
    }
    // Nothing to repair in our own data.
    for (const sample of dataset.samples) {
      expect(sample.evidenceFixes).toEqual({ rewritten: 0, dropped: 0 });
      expect(sample.skipped.noEvidence).toBe(0);
    }
  });
});

describe.each(TEST_DATABASES)('eval: the harness on $name', (db) => {
  let result: EvalResult;
  let sibling: SiblingDatabase | undefined;

  beforeAll(async () => {
    // On MySQL/MariaDB the harness migrates the database it is given: a database of its own.
    if (db.url) sibling = await siblingDatabase(db, 'eval');
    result = await runEval({
      dataset: loadDataset(DATA),
      embedder: 'double',
      k: 10,
      databaseUrl: sibling?.url,
    });
  }, 180_000);

  afterAll(async () => {
    await sibling?.drop();
  });

  it('runs on the store the app would use there', () => {
    expect(result.database).toBe(db.url ? new URL(db.url).protocol.slice(0, -1) : 'sqlite');
    expect(result.labels.default).toMatch(db.url ? /^sql / : /^sqlite-vec /);
    expect(result.labels.default).toContain('app search: fused');
    expect(result.labels.memory).toBe('memory (Mem0 search)');
  });

  it('scores every configuration for each category 1-4 and overall, within [0, 1]', () => {
    const expected = questionsByCategory();
    const scored = SCORED_CATEGORIES.reduce((sum, c) => sum + expected[c], 0);
    for (const name of CONFIGURATIONS) {
      const scores = result.scores[name];
      expect(Object.keys(scores).sort()).toEqual(['1', '2', '3', '4', 'all']);
      for (const category of SCORED_CATEGORIES) expect(scores[category].n).toBe(expected[category]);
      expect(scores.all.n).toBe(scored);
      for (const s of Object.values(scores)) {
        const values = [...CUTOFFS.flatMap((k) => [s.recall[k], s.hit[k]]), s.mrr];
        for (const value of values) {
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(1);
        }
        expect(s.recall[1]).toBeLessThanOrEqual(s.recall[5]);
        expect(s.recall[5]).toBeLessThanOrEqual(s.recall[10]);
      }
      expect(result.answers[name]).toHaveLength(scored);
    }
  });

  it('leaves the adversarial questions (category 5) out', () => {
    expect(result.counts.skipped.adversarial).toBe(questionsByCategory()[5]);
    for (const name of CONFIGURATIONS) {
      expect(result.answers[name].every((a) => a.category !== 5)).toBe(true);
    }
  });

  it('finds only turns of the asked sample, at most k of them, and stores one memory per turn', () => {
    const idsOf = new Map(raw.map((s) => [s.sample_id, new Set(turnsOf(s).map((t) => t.dia_id))]));
    for (const name of CONFIGURATIONS) {
      for (const answer of result.answers[name]) {
        expect(answer.ranked.length).toBeGreaterThan(0);
        expect(answer.ranked.length).toBeLessThanOrEqual(10);
        expect(new Set(answer.ranked).size).toBe(answer.ranked.length);
        for (const id of answer.ranked) expect(idsOf.get(answer.sample)).toContain(id);
      }
    }
    expect(result.timings.ingest.default?.perTurn.n).toBe(result.counts.turns);
    expect(result.timings.ingest.memory?.perTurn.n).toBe(result.counts.turns);
  });

  it('needs no model: raw adds and searches without a reranker call none', () => {
    expect(result.modelCalls).toEqual({});
  });
});
