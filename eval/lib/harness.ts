import { searchEntities } from '@app/ai/mem0-internals';
import { searchMemories } from '@app/ai/memory-search';
import type { MemorySearchMode } from '@app/config';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { OpenAiTestDouble, RequestKind } from '../../test/support/openai-double';
import { summarize, Summary } from '../../bench/lib/stats';
import { Dataset, memoryText, MemoryTextFormat, Question, Sample, Turn } from './dataset';
import { CachedEmbeddings, localEmbedder } from './embedders';
import {
  appConfig,
  CONFIGURATIONS,
  ConfigurationName,
  Endpoints,
  eraseSample,
  migrate,
  openSampleStores,
  productMem0Config,
  SampleStores,
} from './memories';
import { Answer, Scores, scoreByCategory } from './scoring';

export type EmbedderKind = 'local' | 'double';

export interface EvalOptions {
  dataset: Dataset;
  embedder: EmbedderKind;
  /** How many results each search asks for (Mem0's topK). */
  k: number;
  /** mysql://… or mariadb://…: the app's `sql` store on that database; else SQLite. */
  databaseUrl?: string;
  memoryText?: MemoryTextFormat;
  /** How (a) ranks (MEMORY_SEARCH); the app's default without. */
  search?: MemorySearchMode;
  log?: (line: string) => void;
}

export interface Timings {
  /** Per configuration: every turn's add (Mem0's add with infer: false), embedding excepted. */
  ingest: Partial<Record<ConfigurationName, { totalMs: number; perTurn: Summary }>>;
  /** Per configuration: one question's search, embedding excepted (see `embedding`). */
  search: Record<ConfigurationName, Summary>;
  /**
   * The local model, computed once per text and shared by every configuration; with the double,
   * embedding is an HTTP call inside each add and search, counted in their timings instead.
   */
  embedding?: { texts: number; batches: number; ms: number };
  totalMs: number;
}

export interface EvalResult {
  embedder: EmbedderKind;
  k: number;
  memoryText: MemoryTextFormat;
  database: string;
  /** What each configuration is, in words. */
  labels: Record<ConfigurationName, string>;
  counts: {
    samples: string[];
    turns: number;
    questions: Record<string, number>;
    skipped: { adversarial: number; noEvidence: number };
    evidenceFixes: { rewritten: number; dropped: number };
  };
  scores: Record<ConfigurationName, Record<string, Scores>>;
  answers: Record<ConfigurationName, Answer[]>;
  timings: Timings;
  /** Requests that reached Mem0's model (the double): raw adds and plain searches need none. */
  modelCalls: Partial<Record<RequestKind, number>>;
}

/**
 * Runs the retrieval evaluation: for each sample, every turn stored raw (one memory per turn, in
 * the sample's own user id) in each configuration's fresh store, then each scored question
 * searched `k` deep in each configuration, and the evidence turns looked for in the results.
 */
export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const began = performance.now();
  const log = options.log ?? (() => undefined);
  const format = options.memoryText ?? 'speaker-caption';
  const modelCalls: Partial<Record<RequestKind, number>> = {};
  const double = new OpenAiTestDouble({
    recordRequests: false,
    onRequestEnd: (r) => {
      if (r.kind !== 'embeddings') modelCalls[r.kind] = (modelCalls[r.kind] ?? 0) + 1;
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-eval-'));
  try {
    const doubleUrl = await double.start();
    let cache: CachedEmbeddings | undefined;
    if (options.embedder === 'local') cache = new CachedEmbeddings(await localEmbedder());
    const endpoints: Endpoints = { doubleUrl, local: cache };
    const config = appConfig(join(dir, 'data'), endpoints, options.databaseUrl, options.search);
    if (config.database.kind !== 'sqlite') await migrate(config);
    const base = productMem0Config(config, endpoints);
    const searchMode = config.memory.search;
    const answers = byConfiguration<Answer[]>(() => []);
    const ingest = byConfiguration<number[]>(() => []);
    const search = byConfiguration<number[]>(() => []);
    let labels: Record<ConfigurationName, string> | undefined;

    for (const [i, sample] of options.dataset.samples.entries()) {
      const sampleDir = join(dir, 'stores', String(i));
      mkdirSync(sampleDir, { recursive: true });
      const stores = await openSampleStores(base, {
        dir: sampleDir,
        collection: `eval_${process.pid}_${i}`,
        synchronous: config.database.sqliteSynchronous,
        dimension: config.openai.embeddingDims,
      });
      labels ??= {
        default: `${stores.defaultStore} (app search: ${searchMode})`,
        memory: 'memory (Mem0 search)',
        vector: `${stores.defaultStore} (vector only)`,
      };
      try {
        if (cache) await warmCache(cache, stores, sample, format, log);
        const t0 = performance.now();
        await ingestSample(stores, sample, format, ingest);
        const t1 = performance.now();
        for (const question of sample.questions) {
          const found = await ask(stores, sample.id, question, options.k, search, searchMode);
          for (const name of CONFIGURATIONS) {
            answers[name].push({
              sample: sample.id,
              index: question.index,
              category: question.category,
              evidence: question.evidence,
              ranked: found[name],
            });
          }
        }
        log(
          `${sample.id}: ${sample.turns.length} turns stored in ${seconds(t1 - t0)}, ` +
            `${sample.questions.length} questions searched in ${seconds(performance.now() - t1)}`,
        );
      } finally {
        // A database server is not the run's own: what the sample wrote goes, history included.
        if (config.database.kind !== 'sqlite') await eraseSample(stores, sample.id);
        await stores.close();
      }
    }

    return {
      embedder: options.embedder,
      k: options.k,
      memoryText: format,
      database: config.database.kind,
      labels: labels ?? { default: 'default', memory: 'memory', vector: 'vector' },
      counts: counts(options.dataset),
      scores: byConfiguration((name) => scoreByCategory(answers[name], options.k)),
      answers,
      timings: {
        ingest: {
          default: ingestTiming(ingest.default),
          memory: ingestTiming(ingest.memory),
        },
        search: byConfiguration((name) => summarize(search[name])),
        ...(cache ? { embedding: { ...cache.stats } } : {}),
        totalMs: performance.now() - began,
      },
      modelCalls,
    };
  } finally {
    await double.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Embeds, in batches, every text the sample's adds and searches will embed: the memories, the
 * questions, and the entities Mem0's search finds in each question (its entity boost).
 */
async function warmCache(
  cache: CachedEmbeddings,
  stores: SampleStores,
  sample: Sample,
  format: MemoryTextFormat,
  log: (line: string) => void,
): Promise<void> {
  const texts = sample.turns.map((turn) => memoryText(turn, format));
  for (const question of sample.questions) {
    texts.push(question.question, ...(await searchEntities(stores.default, question.question)));
  }
  const before = cache.stats.ms;
  await cache.warm(texts);
  log(`${sample.id}: embedded ${texts.length} texts in ${seconds(cache.stats.ms - before)}`);
}

/**
 * Stores every turn in (a) and (b), one Mem0 `add` per turn with `infer: false` (Mem0 then stores
 * the text as one memory, no model call), alternating which configuration goes first so that
 * neither always pays for a cold cache. The turn's dia_id and session date go in its metadata.
 */
async function ingestSample(
  stores: SampleStores,
  sample: Sample,
  format: MemoryTextFormat,
  ingest: Record<ConfigurationName, number[]>,
): Promise<void> {
  for (const [i, turn] of sample.turns.entries()) {
    const order: ('default' | 'memory')[] =
      i % 2 === 0 ? ['default', 'memory'] : ['memory', 'default'];
    for (const name of order) {
      const began = performance.now();
      await stores[name].add(memoryText(turn, format), {
        userId: sample.id,
        infer: false,
        metadata: metadataOf(sample.id, turn),
      });
      ingest[name].push(performance.now() - began);
    }
  }
}

function metadataOf(sampleId: string, turn: Turn): Record<string, unknown> {
  return {
    dia_id: turn.diaId,
    // As the app's memories carry the chat session they were learned in (MemorySource).
    session_id: `${sampleId}/session_${turn.session}`,
    session_date: turn.sessionDate,
    speaker: turn.speaker,
  };
}

/**
 * One question in each configuration: (a) through the app's search as its search thread runs it
 * (searchMemories, MEMORY_SEARCH's ranking), (b) through Mem0's own search, (c) as the default
 * store's cosine top k. Returns the dia_ids found, best first.
 */
async function ask(
  stores: SampleStores,
  userId: string,
  question: Question,
  k: number,
  search: Record<ConfigurationName, number[]>,
  mode: MemorySearchMode,
): Promise<Record<ConfigurationName, string[]>> {
  const found = byConfiguration<string[]>(() => []);
  for (const name of CONFIGURATIONS) {
    const began = performance.now();
    if (name === 'vector') {
      const results = await stores.vector.search(question.question, k, userId);
      found[name] = results.map((r) => String(r.payload.dia_id));
    } else if (name === 'default') {
      const results = await searchMemories(stores.default, mode, {
        userId,
        query: question.question,
        limit: k,
      });
      found[name] = results.map((r) => String(r.metadata.dia_id));
    } else {
      const { results } = await stores[name].search(question.question, {
        filters: { user_id: userId },
        topK: k,
      });
      found[name] = results.map((r) => String(r.metadata?.dia_id));
    }
    search[name].push(performance.now() - began);
  }
  return found;
}

function counts(dataset: Dataset): EvalResult['counts'] {
  const questions: Record<string, number> = {};
  const skipped = { adversarial: 0, noEvidence: 0 };
  const evidenceFixes = { rewritten: 0, dropped: 0 };
  for (const sample of dataset.samples) {
    for (const q of sample.questions) questions[q.category] = (questions[q.category] ?? 0) + 1;
    skipped.adversarial += sample.skipped.adversarial;
    skipped.noEvidence += sample.skipped.noEvidence;
    evidenceFixes.rewritten += sample.evidenceFixes.rewritten;
    evidenceFixes.dropped += sample.evidenceFixes.dropped;
  }
  return {
    samples: dataset.samples.map((s) => s.id),
    turns: dataset.samples.reduce((sum, s) => sum + s.turns.length, 0),
    questions,
    skipped,
    evidenceFixes,
  };
}

function ingestTiming(samples: number[]): { totalMs: number; perTurn: Summary } {
  return { totalMs: samples.reduce((sum, x) => sum + x, 0), perTurn: summarize(samples) };
}

function byConfiguration<T>(make: (name: ConfigurationName) => T): Record<ConfigurationName, T> {
  return Object.fromEntries(CONFIGURATIONS.map((name) => [name, make(name)])) as Record<
    ConfigurationName,
    T
  >;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
