import { SCORED_CATEGORIES } from './dataset';

/** The cut-offs of the recall and hit-rate columns. */
export const CUTOFFS = [1, 5, 10] as const;
export type Cutoff = (typeof CUTOFFS)[number];

/** What one configuration returned for one question: the dia_ids of its results, best first. */
export interface Answer {
  sample: string;
  /** The question's index in its sample's `qa` list. */
  index: number;
  category: number;
  evidence: string[];
  ranked: string[];
}

/** Means over a set of questions; NaN where the search depth (k) is below the cut-off. */
export interface Scores {
  n: number;
  /** Recall@k: the fraction of the question's evidence turns in the top k. */
  recall: Record<Cutoff, number>;
  /** Hit rate@k: 1 when any evidence turn is in the top k. */
  hit: Record<Cutoff, number>;
  /** Reciprocal rank of the first evidence turn in the top k (0 when none is). */
  mrr: number;
}

/** |evidence ∩ top k| / |evidence|. */
export function recallAt(evidence: string[], ranked: string[], k: number): number {
  const top = new Set(ranked.slice(0, k));
  return evidence.filter((id) => top.has(id)).length / evidence.length;
}

export function hitAt(evidence: string[], ranked: string[], k: number): number {
  return ranked.slice(0, k).some((id) => evidence.includes(id)) ? 1 : 0;
}

export function reciprocalRank(evidence: string[], ranked: string[]): number {
  const rank = ranked.findIndex((id) => evidence.includes(id));
  return rank < 0 ? 0 : 1 / (rank + 1);
}

/** The means of `answers`, searched `depth` deep (a cut-off past it cannot be measured). */
export function score(answers: Answer[], depth: number): Scores {
  const n = answers.length;
  const mean = (f: (a: Answer) => number) =>
    n === 0 ? NaN : answers.reduce((sum, a) => sum + f(a), 0) / n;
  const at = (f: (e: string[], r: string[], k: number) => number) =>
    Object.fromEntries(
      CUTOFFS.map((k) => [k, k > depth ? NaN : mean((a) => f(a.evidence, a.ranked, k))]),
    ) as Record<Cutoff, number>;
  return {
    n,
    recall: at(recallAt),
    hit: at(hitAt),
    mrr: mean((a) => reciprocalRank(a.evidence, a.ranked)),
  };
}

/** Scores per category (1-4) and over all of them ("all"), micro-averaged over questions. */
export function scoreByCategory(answers: Answer[], depth: number): Record<string, Scores> {
  const byCategory: Record<string, Scores> = {};
  for (const category of SCORED_CATEGORIES) {
    byCategory[category] = score(
      answers.filter((a) => a.category === category),
      depth,
    );
  }
  byCategory.all = score(
    answers.filter((a) => SCORED_CATEGORIES.includes(a.category)),
    depth,
  );
  return byCategory;
}
