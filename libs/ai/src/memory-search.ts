import type { Memory } from 'mem0ai/oss';

import type { MemorySearchMode } from '../../config/src/app-config';
import { Candidate, fuseCandidates, FUSION } from './fused-search';
import { searchWithCandidates } from './mem0-internals';

export interface SearchRequest {
  userId: string;
  query: string;
  limit: number;
  /** The least cosine similarity of a result (the look-up of a new fact's close memories). */
  threshold?: number;
}

/** A search result, in the shape of Mem0's own search results. */
export interface SearchResult {
  id: string;
  memory: string;
  hash?: unknown;
  createdAt?: unknown;
  updatedAt?: unknown;
  score: number;
  metadata: Record<string, unknown>;
  user_id?: unknown;
}

/**
 * The payload keys Mem0 keeps out of a result's `metadata` (its PAYLOAD_METADATA_EXCLUDED_KEYS,
 * pinned by mem0-internals.contract.spec.ts).
 */
const NOT_METADATA = new Set([
  'user_id',
  'agent_id',
  'run_id',
  'hash',
  'data',
  'createdAt',
  'updatedAt',
  'textLemmatized',
  'attributedTo',
]);

/**
 * The user's memories that best match `query`, best first: with `fused`, Mem0's search runs for
 * its candidates (its vector and keyword searches, FUSION.depth deep), its lemmatized query and
 * its entity boosts, and fuseCandidates ranks them; with `mem0`, Mem0's search as it is.
 */
export async function searchMemories(
  memory: Memory,
  mode: MemorySearchMode,
  request: SearchRequest,
): Promise<SearchResult[]> {
  const filters = { user_id: request.userId };
  const threshold = request.threshold !== undefined ? { threshold: request.threshold } : {};
  if (mode === 'mem0') {
    const found = await memory.search(request.query, {
      filters,
      topK: request.limit,
      ...threshold,
    });
    return found.results as SearchResult[];
  }
  // Mem0 asks its stores for max(4 · topK, 60) candidates: a quarter of the depth makes it score
  // (and report entity boosts for) as many as the capture fetches.
  const { result, candidates } = await searchWithCandidates(memory, FUSION.depth, () =>
    memory.search(request.query, {
      filters,
      topK: Math.ceil(FUSION.depth / 4),
      threshold: 0,
      explain: true,
    }),
  );
  const boosts = new Map<string, number>();
  for (const item of result.results as { id: string; score_details?: { entityBoost?: number } }[]) {
    const boost = item.score_details?.entityBoost ?? 0;
    if (boost > 0) boosts.set(item.id, boost);
  }
  return fuseCandidates(candidates.semantic.filter(hasText), candidates.keyword.filter(hasText), {
    topK: request.limit,
    threshold: request.threshold,
    boosts,
  }).map(resultOf);
}

const hasText = (candidate: Candidate) => typeof candidate.payload.data === 'string';

function resultOf({ id, score, payload }: Candidate): SearchResult {
  const metadata = Object.fromEntries(
    Object.entries(payload).filter(([key]) => !NOT_METADATA.has(key)),
  );
  return {
    id,
    memory: payload.data as string,
    hash: payload.hash,
    createdAt: payload.createdAt,
    updatedAt: payload.updatedAt,
    score,
    metadata,
    ...(payload.user_id ? { user_id: payload.user_id } : {}),
  };
}
