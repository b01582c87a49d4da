import type { Filters } from './payload-filter';

/** mem0's vector-store contract (mem0ai/oss `VectorStore`), restated so the stores need no mem0 import. */
export interface VectorStoreResult {
  id: string;
  payload: Record<string, unknown>;
  score?: number;
}

type Payload = Record<string, unknown>;

/** BM25's term-frequency saturation (k1) and document-length normalization (b). */
export interface Bm25Params {
  k1: number;
  b: number;
}

/** Mem0's `memory` store's: what the stores use unless their configuration says otherwise. */
export const MEM0_BM25: Bm25Params = { k1: 1.5, b: 0.75 };
/** mem0's `memory` store accepts camelCase scope keys and answers snake_case; so do ours. */
const SCOPE_KEYS: [string, string][] = [
  ['userId', 'user_id'],
  ['agentId', 'agent_id'],
  ['runId', 'run_id'],
];

/** mem0's keyword tokens: lowercased, split on whitespace. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

/** The text a row is keyword-searched by: mem0's lemmatized text, else the memory itself. */
export function textOf(payload: Payload): string {
  const text = payload.textLemmatized || payload.data;
  return typeof text === 'string' ? text : '';
}

export function normalizeScope(payload: Payload): Payload {
  if (!SCOPE_KEYS.some(([camel]) => camel in payload)) return payload;
  const normalized = { ...payload };
  for (const [camel, snake] of SCOPE_KEYS) {
    if (camel in normalized && !(snake in normalized)) {
      normalized[snake] = normalized[camel];
      delete normalized[camel];
    }
  }
  return normalized;
}

/** The partition a row lives in: its user id when that is a non-empty string. */
export function ownerOf(payload: Payload): string | null {
  const user = payload.user_id;
  return typeof user === 'string' && user !== '' ? user : null;
}

/**
 * A filter's `user_id`, when it names exactly one user, becomes the partition to read; what else
 * the filter says (`rest`) is checked row by row. `"*"` or an operator means no partition.
 */
export function splitOwner(filters: Filters | undefined): { owner?: string; rest?: Filters } {
  if (!filters) return {};
  const { user_id: user, ...others } = filters;
  const hasOthers = Object.keys(others).length > 0;
  if (typeof user === 'string' && user !== '' && user !== '*') {
    return { owner: user, rest: hasOthers ? others : undefined };
  }
  return Object.keys(filters).length > 0 ? { rest: filters } : {};
}

/**
 * BM25 the way mem0's `memory` store scores it (whitespace tokens; k1 and b are `params`, its
 * own 1.5 and 0.75 by default), over
 * `candidates`: every row in scope that holds at least one query term (others score 0), with the
 * scope's row count and average token count. Rows that score 0 are left out; best first, at most
 * `topK`, ties in the candidates' order.
 */
export function rankBm25<T>(
  terms: string[],
  candidates: { row: T; tokens: string[] }[],
  scope: { total: number; avgTokens: number },
  topK: number,
  { k1, b }: Bm25Params = MEM0_BM25,
): { row: T; score: number }[] {
  const idf = new Map<string, number>();
  for (const term of terms) {
    if (idf.has(term)) continue;
    const df = candidates.filter((doc) => doc.tokens.includes(term)).length;
    idf.set(term, Math.log((scope.total - df + 0.5) / (df + 0.5) + 1));
  }
  return candidates
    .map(({ row, tokens }) => {
      let score = 0;
      for (const term of terms) {
        const tf = tokens.filter((token) => token === term).length;
        const norm = 1 - b + (b * tokens.length) / scope.avgTokens;
        score += ((idf.get(term) ?? 0) * tf * (k1 + 1)) / (tf + k1 * norm);
      }
      return { row, score };
    })
    .filter((item) => item.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, topK);
}
