import { readFileSync } from 'node:fs';

import type { LangchainEmbeddings } from './embedders';

/** An older memory and a newer fact about the same user. */
export type Pair = [older: string, newer: string];

/** Pairs whose newer fact changes the older one, and pairs about different things. */
export interface ConflictPairs {
  updates: Pair[];
  unrelated: Pair[];
}

/** How many pairs of each kind reach one MEMORY_CONFLICT_SIMILARITY. */
export interface ThresholdRow {
  threshold: number;
  /** Updates whose cosine is at least the threshold: the model is asked about them. */
  caught: number;
  /** Unrelated pairs at least as close: a model call that changes nothing. */
  needless: number;
}

export interface ConflictMeasure {
  /** Cosine similarity of each pair, lowest first. */
  updates: number[];
  unrelated: number[];
  rows: ThresholdRow[];
}

export const THRESHOLDS = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5];

export function loadConflictPairs(path: string): ConflictPairs {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ConflictPairs>;
  const valid = (list: unknown): list is Pair[] =>
    Array.isArray(list) &&
    list.every(
      (pair) =>
        Array.isArray(pair) && pair.length === 2 && pair.every((t) => typeof t === 'string'),
    );
  if (!valid(parsed.updates) || !valid(parsed.unrelated)) {
    throw new Error(`${path}: expected {"updates": [[older, newer], …], "unrelated": [...]}`);
  }
  return { updates: parsed.updates, unrelated: parsed.unrelated };
}

/**
 * The cosine similarity of each pair's two texts as `embedder` embeds them (the older as stored,
 * the newer as the conflict look-up's query), and how many pairs of each kind every threshold
 * lets through. What MEMORY_CONFLICT_SIMILARITY decides: whether the model is asked.
 */
export async function measureConflictPairs(
  pairs: ConflictPairs,
  embedder: LangchainEmbeddings,
  thresholds = THRESHOLDS,
): Promise<ConflictMeasure> {
  const similarities = async (list: Pair[]) => {
    const stored = await embedder.embedDocuments(list.map(([older]) => older));
    const asked = await Promise.all(list.map(([, newer]) => embedder.embedQuery(newer)));
    return list.map((_, i) => cosine(stored[i], asked[i])).sort((a, b) => a - b);
  };
  const updates = await similarities(pairs.updates);
  const unrelated = await similarities(pairs.unrelated);
  const reaching = (list: number[], threshold: number) =>
    list.filter((similarity) => similarity >= threshold).length;
  return {
    updates,
    unrelated,
    rows: thresholds.map((threshold) => ({
      threshold,
      caught: reaching(updates, threshold),
      needless: reaching(unrelated, threshold),
    })),
  };
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : dot / Math.sqrt(aa * bb);
}
