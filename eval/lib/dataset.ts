import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Conversations and questions in the public LoCoMo format (Maharana et al., 2024): a JSON list of
 * samples `{sample_id, conversation, qa}`. `conversation` has `speaker_a`, `speaker_b`, and for
 * each session N `session_N_date_time` ("1:56 pm on 8 May, 2023") and `session_N`, a list of turns
 * `{speaker, dia_id: "DN:M", text, blip_caption?}`; `qa` items are `{question, answer, evidence:
 * ["DN:M", …], category}` (category 5, adversarial, has `adversarial_answer` instead).
 */
export interface LocomoTurn {
  speaker: string;
  dia_id: string;
  text: string;
  /** What an image the speaker shared shows (LoCoMo's BLIP captions). */
  blip_caption?: string;
  [key: string]: unknown;
}

export interface LocomoQuestion {
  question: string;
  answer?: unknown;
  adversarial_answer?: unknown;
  evidence: string[];
  category: number;
}

export interface LocomoSample {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: LocomoQuestion[];
}

/** One turn as the harness stores it: one memory. */
export interface Turn {
  diaId: string;
  session: number;
  /** The session's `session_N_date_time`, as written. */
  sessionDate: string;
  speaker: string;
  text: string;
  caption?: string;
}

/** A question the harness asks, with its evidence cleaned up (see cleanEvidence). */
export interface Question {
  /** Its index in the sample's `qa` list. */
  index: number;
  category: number;
  question: string;
  evidence: string[];
}

export interface Sample {
  id: string;
  turns: Turn[];
  /** Categories 1-4 with at least one evidence turn: the scored questions. */
  questions: Question[];
  /** What was left out, and why. */
  skipped: { adversarial: number; noEvidence: number };
  /** Evidence ids rewritten ("D:11:26" → "D11:26") or dropped (naming no turn). */
  evidenceFixes: { rewritten: number; dropped: number };
}

export interface Dataset {
  /** sha256 of the file: names the data without copying it. */
  sha256: string;
  samples: Sample[];
}

/** LoCoMo's categories; 5 (adversarial: the answer is not in the conversation) is not scored. */
export const CATEGORIES: Record<number, string> = {
  1: 'multi-hop',
  2: 'temporal',
  3: 'open-domain',
  4: 'single-hop',
  5: 'adversarial',
};
export const SCORED_CATEGORIES = [1, 2, 3, 4];

/** The text of a memory (see eval/README.md, "What a memory is"). */
export type MemoryTextFormat = 'speaker-caption' | 'speaker' | 'text';
export const MEMORY_TEXT_FORMATS: MemoryTextFormat[] = ['speaker-caption', 'speaker', 'text'];

/**
 * What one turn is stored as. The default, `speaker-caption`, is the turn as a reader of the
 * transcript sees it: who said it, what they said, and what the photo they shared shows (LoCoMo's
 * questions often ask about the photo: "What did Melanie paint?").
 */
export function memoryText(turn: Turn, format: MemoryTextFormat = 'speaker-caption'): string {
  if (format === 'text') return turn.text;
  const said = `${turn.speaker}: ${turn.text}`;
  if (format === 'speaker' || !turn.caption) return said;
  return `${said} [shared a photo: ${turn.caption}]`;
}

/** Reads and checks a LoCoMo-format file; `only` keeps the samples with these ids, in that order. */
export function loadDataset(path: string, only?: string[]): Dataset {
  const raw = readFileSync(path);
  const parsed = JSON.parse(raw.toString('utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON list of samples`);
  let samples = parsed.map((item, i) => toSample(item, `${path}: sample ${i}`));
  if (only) {
    const missing = only.filter((id) => !samples.some((s) => s.id === id));
    if (missing.length > 0) throw new Error(`${path}: no sample ${missing.join(', ')}`);
    samples = only.map((id) => samples.find((s) => s.id === id)!);
  }
  return { sha256: createHash('sha256').update(raw).digest('hex'), samples };
}

function toSample(item: unknown, where: string): Sample {
  const sample = item as Partial<LocomoSample>;
  if (typeof sample?.sample_id !== 'string') throw new Error(`${where}: no sample_id`);
  if (typeof sample.conversation !== 'object' || sample.conversation === null) {
    throw new Error(`${where}: no conversation`);
  }
  if (!Array.isArray(sample.qa)) throw new Error(`${where}: no qa list`);
  const turns = turnsOf(sample.conversation, `${where} (${sample.sample_id})`);
  const known = new Set(turns.map((t) => t.diaId));
  const skipped = { adversarial: 0, noEvidence: 0 };
  const evidenceFixes = { rewritten: 0, dropped: 0 };
  const questions: Question[] = [];
  sample.qa.forEach((qa, index) => {
    if (typeof qa?.question !== 'string' || !Number.isInteger(qa.category)) {
      throw new Error(`${where}: qa ${index} needs a question and a category`);
    }
    if (!SCORED_CATEGORIES.includes(qa.category)) {
      if (qa.category !== 5) throw new Error(`${where}: qa ${index}: category ${qa.category}`);
      skipped.adversarial++;
      return;
    }
    const { ids, rewritten, dropped } = cleanEvidence(qa.evidence ?? [], known);
    evidenceFixes.rewritten += rewritten;
    evidenceFixes.dropped += dropped;
    if (ids.length === 0) {
      skipped.noEvidence++;
      return;
    }
    questions.push({ index, category: qa.category, question: qa.question, evidence: ids });
  });
  return { id: sample.sample_id, turns, questions, skipped, evidenceFixes };
}

/** Every turn of every session, in session order (session_1, session_2, …, numerically). */
function turnsOf(conversation: Record<string, unknown>, where: string): Turn[] {
  const sessions = Object.keys(conversation)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const turns: Turn[] = [];
  const seen = new Set<string>();
  for (const session of sessions) {
    const list = conversation[`session_${session}`];
    const date = conversation[`session_${session}_date_time`];
    if (!Array.isArray(list)) throw new Error(`${where}: session_${session} is not a list`);
    if (typeof date !== 'string') throw new Error(`${where}: no session_${session}_date_time`);
    for (const item of list as Partial<LocomoTurn>[]) {
      const { speaker, dia_id: diaId, text, blip_caption: caption } = item;
      if (typeof speaker !== 'string' || typeof diaId !== 'string' || typeof text !== 'string') {
        throw new Error(`${where}: a turn of session_${session} lacks speaker, dia_id or text`);
      }
      if (text.trim() === '') throw new Error(`${where}: turn ${diaId} has no text`);
      if (seen.has(diaId)) throw new Error(`${where}: dia_id ${diaId} appears twice`);
      seen.add(diaId);
      turns.push({
        diaId,
        session,
        sessionDate: date,
        speaker,
        text,
        ...(typeof caption === 'string' && caption.trim() ? { caption } : {}),
      });
    }
  }
  return turns;
}

/**
 * A question's evidence as dia_ids of real turns. LoCoMo's evidence has a few slips: ids joined in
 * one string ("D8:6; D9:17", "D9:1 D4:4"), a stray colon or zero ("D:11:26", "D30:05"), a bare
 * "D", an id past the end of its session. Joined ids are split and the slips rewritten; what still
 * names no turn is dropped (it could never be retrieved, so it would only lower every score).
 */
export function cleanEvidence(
  evidence: unknown[],
  known: Set<string>,
): { ids: string[]; rewritten: number; dropped: number } {
  const ids: string[] = [];
  let rewritten = 0;
  let dropped = 0;
  for (const entry of evidence) {
    const parts = String(entry)
      .split(/[;,\s]+/)
      .filter(Boolean);
    if (parts.length > 1) rewritten++;
    for (const part of parts) {
      const m = /^D:?(\d+):0*(\d+)$/.exec(part);
      const id = m ? `D${Number(m[1])}:${Number(m[2])}` : part;
      if (id !== part && parts.length === 1) rewritten++;
      if (!known.has(id)) dropped++;
      else if (!ids.includes(id)) ids.push(id);
    }
  }
  return { ids, rewritten, dropped };
}
