import type { MemoryRecord } from '@app/ai';

import { CONFLICT_EVENTS, ConflictEvent, ConflictQuestion } from './conflict-question';

/** The longest text an UPDATE may give a memory: what an edit through the API may give it. */
export const MAX_MERGED_TEXT = 2000;

/** A decision that changes something; a new fact without one stays as stored (ADD). */
export interface Decision {
  event: Exclude<ConflictEvent, 'ADD'>;
  /** The new memory the extraction stored. */
  fact: MemoryRecord;
  /** The older memory it updates, retires (DELETE) or repeats (NONE). */
  memory: MemoryRecord;
  /** UPDATE: the memory's new text. */
  text?: string;
}

/**
 * The model's answer, read: the decisions to carry out, or why the answer was not understood.
 * `problem` is one of this file's own phrases: it is logged, and never holds the model's text
 * (which may hold the user's).
 */
export type ReadDecisions = { decisions: Decision[] } | { problem: string };

interface RawDecision {
  fact?: unknown;
  event?: unknown;
  memory?: unknown;
  text?: unknown;
}

/**
 * Reads the answer to a ConflictQuestion. Any OpenAI-compatible server may answer anything, so
 * an answer that is not entirely understood (not a JSON object with a `decisions` list, a fact or
 * memory id that was not asked about, an unknown event, a second decision for one fact) is not
 * used at all: every new fact then stays, as without the question. A new fact the answer leaves
 * out stays too (ADD). Two facts may not both update or retire one memory: the first decision
 * wins, the later fact stays beside it.
 */
export function readDecisions(answer: string, question: ConflictQuestion): ReadDecisions {
  const parsed = jsonObject(answer);
  if (parsed === undefined) return { problem: 'the answer is not a JSON object' };
  const list = parsed.decisions;
  if (!Array.isArray(list)) return { problem: 'the answer has no "decisions" list' };

  const decisions: Decision[] = [];
  const decided = new Set<string>();
  const claimed = new Set<string>();
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) return { problem: 'a decision is no object' };
    const raw = item as RawDecision;
    const fact = typeof raw.fact === 'string' ? question.facts.get(raw.fact) : undefined;
    if (!fact) return { problem: 'a decision names a fact that was not asked about' };
    if (decided.has(fact.id)) return { problem: 'a fact has two decisions' };
    decided.add(fact.id);
    const event = eventOf(raw.event);
    if (!event) return { problem: 'a decision has an unknown event' };
    if (event === 'ADD') continue;
    const memory = typeof raw.memory === 'string' ? question.memories.get(raw.memory) : undefined;
    if (!memory) return { problem: 'a decision names a memory that was not asked about' };
    let text: string | undefined;
    if (event === 'UPDATE') {
      text = typeof raw.text === 'string' && raw.text.trim() !== '' ? raw.text.trim() : fact.memory;
      if (text.length > MAX_MERGED_TEXT) return { problem: 'an updated text is too long' };
    }
    if (event !== 'NONE') {
      if (claimed.has(memory.id)) continue; // already updated or retired for an earlier fact
      claimed.add(memory.id);
    }
    decisions.push({ event, fact, memory, ...(text !== undefined ? { text } : {}) });
  }
  return { decisions };
}

function eventOf(value: unknown): ConflictEvent | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase();
  return CONFLICT_EVENTS.find((event) => event === upper);
}

/**
 * The JSON object in the answer. JSON mode should make it the whole answer; some servers still
 * wrap it in a code fence or a sentence, which are skipped, as Mem0 does for its own answers.
 */
function jsonObject(answer: string): Record<string, unknown> | undefined {
  const start = answer.indexOf('{');
  const end = answer.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const value: unknown = JSON.parse(answer.slice(start, end + 1));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
