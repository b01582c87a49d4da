import type { Bm25Params } from './vector-store/scope';

/**
 * How a memory search ranks with MEMORY_SEARCH=fused (the default). Mem0 3.3's own search
 * re-ranks only the vector index's top candidates, adding a squashed BM25 to their cosine, so a
 * memory that shares the question's rare words but sits below the vector cut-off is never seen.
 * Here the vector index and the keyword index each give their candidates, and every candidate of
 * either is scored by a weighted sum of its cosine similarity and its BM25 relative to the best
 * keyword match of the query; then each memory is lifted by the best score of its conversation
 * (the chat session it was learned in). The weights, the BM25 parameters and the depth were
 * chosen with `npm run eval` on LoCoMo's conv-26 and conv-30 (docs/decisions.md has the figures
 * and the alternatives tried, such as reciprocal-rank fusion). Pure: no Mem0, no I/O; loaded by
 * the search thread.
 */

export type Payload = Record<string, unknown>;

/** One memory as an index returned it: its id, that index's score, its stored payload. */
export interface Candidate {
  id: string;
  score: number;
  payload: Payload;
}

export const FUSION = {
  /** Share of the cosine similarity in a memory's score; relative BM25 has the rest. */
  semanticWeight: 0.5,
  /** How many candidates each index is asked for (at least; Mem0 may ask more for a large k). */
  depth: 240,
  /**
   * The least cosine similarity of a memory found by the vector index alone (Mem0's default
   * search threshold): a memory sharing a word with the query is kept whatever its cosine.
   */
  minSimilarity: 0.1,
  /** Mem0's weight of its entity boost (ENTITY_BOOST_WEIGHT), kept as Mem0 adds it. */
  entityWeight: 0.5,
  /**
   * Share of the best score among the memories of a memory's conversation (its `session_id`)
   * added to its own: a memory said in the conversation that matches best comes up with it. A
   * memory without a session is a conversation of its own.
   */
  conversationWeight: 0.5,
  /**
   * BM25 of the project's stores under this ranking: no length normalization (b 0), since
   * memories are one statement each and the longer ones say more, and the usual k1.
   */
  bm25: { k1: 1.2, b: 0 } satisfies Bm25Params,
} as const;

export interface FuseOptions {
  topK: number;
  /**
   * Only memories whose cosine similarity is known and at least this (e.g. the look-up of a new
   * fact's close memories); without, FUSION.minSimilarity or a keyword match.
   */
  threshold?: number;
  /** Mem0's entity boost of a memory (0 to ENTITY_BOOST_WEIGHT), where its search found one. */
  boosts?: ReadonlyMap<string, number>;
}

/**
 * The `topK` best memories of the two candidate lists, best first, each with its fused score in
 * [0, 1]. A memory's own score is (w · cosine + (1 − w) · bm25 / best bm25 + entity boost) /
 * (1 + the boost's weight when the query has any boost); its fused score is (own + c · the best
 * own score in its conversation) / (1 + c). A keyword candidate the vector list does not hold is
 * given the lowest cosine of that list (its own is no higher: the list is the cosine top), so it
 * competes on its keywords.
 */
export function fuseCandidates(
  semantic: readonly Candidate[],
  keyword: readonly Candidate[],
  options: FuseOptions,
): Candidate[] {
  const w = FUSION.semanticWeight;
  const cosines = new Map(semantic.map((c) => [c.id, c.score]));
  const floor = semantic.length > 0 ? Math.min(...semantic.map((c) => c.score)) : 0;
  const best = Math.max(0, ...keyword.map((c) => c.score));
  const relative = new Map(
    best > 0 ? keyword.filter((c) => c.score > 0).map((c) => [c.id, c.score / best]) : [],
  );
  const boosts = options.boosts ?? new Map<string, number>();
  const scale = 1 + ([...boosts.values()].some((b) => b > 0) ? FUSION.entityWeight : 0);

  const payloads = new Map<string, Payload>();
  for (const c of [...semantic, ...keyword]) if (!payloads.has(c.id)) payloads.set(c.id, c.payload);
  const kept = [...payloads.keys()].filter((id) => {
    const cosine = cosines.get(id);
    if (options.threshold !== undefined) return cosine !== undefined && cosine >= options.threshold;
    return relative.has(id) || (cosine ?? floor) >= FUSION.minSimilarity;
  });
  const own = kept.map((id) => {
    const cosine = Math.max(0, cosines.get(id) ?? floor);
    const raw = w * cosine + (1 - w) * (relative.get(id) ?? 0) + (boosts.get(id) ?? 0);
    return { id, score: Math.min(1, raw / scale), payload: payloads.get(id)! };
  });
  const conversations = new Map<string, number>();
  for (const { id, score, payload } of own) {
    const key = conversationOf(id, payload);
    conversations.set(key, Math.max(conversations.get(key) ?? 0, score));
  }
  const c = FUSION.conversationWeight;
  return own
    .map((m) => ({
      ...m,
      score: (m.score + c * conversations.get(conversationOf(m.id, m.payload))!) / (1 + c),
    }))
    .sort((a, b) => b.score - a.score)
    .slice(0, options.topK);
}

/** The chat session a memory was learned in; a memory without one stands alone. */
function conversationOf(id: string, payload: Payload): string {
  const session = payload.session_id;
  return typeof session === 'string' && session !== '' ? `session:${session}` : `memory:${id}`;
}
