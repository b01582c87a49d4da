/**
 * `npm run eval`: the retrieval benchmark of the memory (see eval/README.md). Stores every turn of
 * LoCoMo-format conversations raw through Mem0 (one memory per turn), asks their questions
 * through the app's memory search, and scores how many evidence turns come back: per category,
 * for the app's default store, Mem0's own `memory` store and vector search alone.
 *
 *   npm run eval -- ../shared/eval/locomo10.json
 *   npm run eval -- eval/datasets/household.json --embedder double
 *   npm run eval -- <file.json> [--k 10] [--samples conv-26,conv-30] [--json out.json]
 *                   [--embedder local|double] [--database mariadb://…] [--memory-text FORMAT]
 *                   [--search fused|mem0]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { MEMORY_SEARCH_MODES, MemorySearchMode } from '@app/config';

import { machine } from '../bench/lib/report';
import { loadDataset, MEMORY_TEXT_FORMATS, MemoryTextFormat } from './lib/dataset';
import { EmbedderKind, runEval } from './lib/harness';
import { scoresTable, summaryLines, timingsTable } from './lib/report';

// mem0ai reads these when first imported (the harness imports it through the app's modules).
process.env.MEM0_TELEMETRY = 'false';
process.env.MEM0_DIR = join(tmpdir(), 'chatbot-eval-mem0');

interface Args {
  path: string;
  k: number;
  samples?: string[];
  json: string;
  embedder: EmbedderKind;
  database?: string;
  memoryText: MemoryTextFormat;
  search: MemorySearchMode;
}

const USAGE =
  'usage: npm run eval -- <file.json> [--k 10] [--samples id,id] [--json out.json] ' +
  `[--embedder local|double] [--database mariadb://…] [--memory-text ${MEMORY_TEXT_FORMATS.join('|')}] ` +
  `[--search ${MEMORY_SEARCH_MODES.join('|')}]`;

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error(USAGE);
  process.exit(problem ? 1 : 0);
}

function parseArgs(argv: string[]): Args {
  let path: string | undefined;
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') usage();
    if (!arg.startsWith('--')) {
      if (path) usage(`one data file only (${path}, ${arg})`);
      path = arg;
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (value === undefined) usage(`--${name} needs a value`);
    values[name] = value;
  }
  if (!path) usage('the data file is missing');
  const known = ['k', 'samples', 'json', 'embedder', 'database', 'memory-text', 'search'];
  const unknown = Object.keys(values).filter((name) => !known.includes(name));
  if (unknown.length > 0) usage(`unknown option --${unknown[0]}`);
  const k = Number(values.k ?? 10);
  if (!Number.isInteger(k) || k < 1 || k > 100) usage('--k must be an integer from 1 to 100');
  const embedder = (values.embedder ?? 'local') as EmbedderKind;
  if (embedder !== 'local' && embedder !== 'double') usage('--embedder is local or double');
  const database = values.database === 'sqlite' ? undefined : values.database;
  if (database !== undefined && !/^(mysql|mariadb):\/\//.test(database)) {
    usage('--database is sqlite or a mysql:// or mariadb:// URL');
  }
  const memoryText = (values['memory-text'] ?? 'speaker-caption') as MemoryTextFormat;
  if (!MEMORY_TEXT_FORMATS.includes(memoryText)) usage(`unknown --memory-text ${memoryText}`);
  const search = (values.search ?? 'fused') as MemorySearchMode;
  if (!MEMORY_SEARCH_MODES.includes(search)) usage(`unknown --search ${search}`);
  return {
    path,
    k,
    samples: values.samples?.split(',').filter(Boolean),
    json: values.json ?? join(__dirname, 'out', 'latest.json'),
    embedder,
    database,
    memoryText,
    search,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const m = machine();
  const dataset = loadDataset(resolve(args.path), args.samples);
  const result = await runEval({
    dataset,
    embedder: args.embedder,
    k: args.k,
    databaseUrl: args.database,
    memoryText: args.memoryText,
    search: args.search,
    log: (line) => console.log(line),
  });
  const summary = summaryLines(result, m, basename(args.path));
  console.log(
    [
      '',
      ...summary,
      '',
      `Recall@k (the fraction of a question's evidence turns in the top k, averaged over questions) and MRR:`,
      '',
      scoresTable(result),
      '',
      'Hit rate@k (any evidence turn in the top k):',
      '',
      scoresTable(result, 'hit'),
      '',
      timingsTable(result),
      '',
    ].join('\n'),
  );
  // The figures and each question's ranked dia_ids: ids and numbers only, no text of the data.
  mkdirSync(dirname(resolve(args.json)), { recursive: true });
  const out = {
    machine: m,
    dataset: { file: basename(args.path), sha256: dataset.sha256 },
    ...result,
  };
  writeFileSync(resolve(args.json), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`Written: ${args.json}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
