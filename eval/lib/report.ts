import { Machine } from '../../bench/lib/report';
import { CATEGORIES, SCORED_CATEGORIES } from './dataset';
import { EvalResult } from './harness';
import { CONFIGURATIONS } from './memories';
import { Scores } from './scoring';

const num = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const ms = (x: number) =>
  Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : 'n/a';

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

const categoryLabel = (key: string) => (key === 'all' ? 'all (1-4)' : `${key} ${CATEGORIES[+key]}`);
const ROW_KEYS = [...SCORED_CATEGORIES.map(String), 'all'];

/** Rows: configuration × category; columns R@1, R@5, R@10, MRR, n (or the hit rates). */
export function scoresTable(result: EvalResult, measure: 'recall' | 'hit' = 'recall'): string {
  const prefix = measure === 'recall' ? 'R' : 'H';
  const rows: string[][] = [];
  for (const name of CONFIGURATIONS) {
    for (const key of ROW_KEYS) {
      const s: Scores = result.scores[name][key];
      const values = measure === 'recall' ? s.recall : s.hit;
      rows.push([
        result.labels[name],
        categoryLabel(key),
        num(values[1]),
        num(values[5]),
        num(values[10]),
        num(s.mrr),
        String(s.n),
      ]);
    }
  }
  return markdownTable(
    ['Configuration', 'Category', `${prefix}@1`, `${prefix}@5`, `${prefix}@10`, 'MRR', 'n'],
    rows,
  );
}

export function timingsTable(result: EvalResult): string {
  const rows = CONFIGURATIONS.map((name) => {
    const ingest = result.timings.ingest[name];
    const search = result.timings.search[name];
    return [
      result.labels[name],
      ingest ? `${(ingest.totalMs / 1000).toFixed(1)} s` : '(shares the default store)',
      ingest ? ms(ingest.perTurn.p50) : '',
      ingest ? ms(ingest.perTurn.p95) : '',
      ms(search.p50),
      ms(search.p95),
      String(search.n),
    ];
  });
  return markdownTable(
    [
      'Configuration',
      'Ingest (all turns)',
      'Add p50',
      'Add p95',
      'Search p50',
      'Search p95',
      'Searches',
    ],
    rows,
  );
}

/** The lines that say what was run, on what, and what was left out. */
export function summaryLines(result: EvalResult, m: Machine, datasetName: string): string[] {
  const c = result.counts;
  const questions = SCORED_CATEGORIES.map((k) => `${c.questions[k] ?? 0} ${CATEGORIES[k]}`);
  const total = Object.values(c.questions).reduce((sum, n) => sum + n, 0);
  const embedding = result.timings.embedding;
  const calls = Object.entries(result.modelCalls);
  return [
    `- Date: ${m.date}; commit ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}; ` +
      `load average (1 min) at the start: ${m.loadAverage}`,
    `- Data: ${datasetName}, samples ${c.samples.join(', ')}: ${c.turns} turns, ` +
      `${total} questions scored (${questions.join(', ')})`,
    `- Left out: ${c.skipped.adversarial} adversarial (category 5), ` +
      `${c.skipped.noEvidence} without evidence; evidence ids rewritten ${c.evidenceFixes.rewritten}, ` +
      `dropped ${c.evidenceFixes.dropped} (naming no turn)`,
    `- Embedder: ${result.embedder === 'local' ? 'USE lite (512 dims, local)' : 'test double (hashed bag of words)'}; ` +
      `database ${result.database}; memory text: ${result.memoryText}; top k ${result.k}`,
    ...(embedding
      ? [
          `- Embedding (once per text, shared by the configurations, not in the timings below): ` +
            `${embedding.texts} texts in ${(embedding.ms / 1000).toFixed(1)} s ` +
            `(${(embedding.ms / Math.max(1, embedding.texts)).toFixed(1)} ms a text)`,
        ]
      : []),
    `- Model calls: ${calls.length === 0 ? 'none' : calls.map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
      `took ${(result.timings.totalMs / 1000).toFixed(0)} s`,
  ];
}
