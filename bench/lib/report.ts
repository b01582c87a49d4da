import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

import { Row } from './scenario';
import { ROOT } from './server';

export interface Machine {
  date: string;
  commit: string;
  dirty: boolean;
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  kernel: string;
  /** 1-minute load average when the run began: other work on the machine skews figures. */
  loadAverage: number;
}

export function machine(): Machine {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `Linux ${release()}`,
    loadAverage: Math.round(loadavg()[0] * 100) / 100,
  };
}

const fmt = (x: number, unit: string): string => {
  if (!Number.isFinite(x)) return 'n/a';
  const text = Math.abs(x) >= 100 ? x.toFixed(0) : String(x);
  return unit === '/s' ? `${text}/s` : `${text} ${unit}`;
};

function verdict(row: Row): string {
  if (row.target === undefined) return '';
  if (row.pass === undefined) return 'n/a';
  return row.pass ? 'pass' : '**FAIL**';
}

export function table(rows: Row[]): string {
  const lines = [
    '| Scenario | Metric | Measured | Baseline (same run) | Ratio | Target | Result | Notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const baseline = row.baseline
      ? `${fmt(row.baseline.value, row.unit)} (${row.baseline.label})`
      : '';
    const ratio =
      row.ratioText ??
      (row.ratio === undefined || !Number.isFinite(row.ratio) ? '' : `${row.ratio}×`);
    const cells = [
      row.scenario,
      row.metric,
      fmt(row.value, row.unit),
      baseline,
      ratio,
      row.target ?? '',
      verdict(row),
      row.note ?? '',
    ];
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

export function machineLines(m: Machine, extra: string[]): string[] {
  return [
    `- Date: ${m.date}`,
    `- Commit: ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.kernel}`,
    `- Load average (1 min) when the run began: ${m.loadAverage}`,
    ...extra.map((line) => `- ${line}`),
  ];
}

export function resultsMarkdown(
  m: Machine,
  extra: string[],
  rows: Row[],
  notes: { title: string; lines: string[] }[],
): string {
  return [
    '# Benchmark results',
    '',
    'The latest full `npm run bench`, written by the benchmark itself (see "Benchmarks" in the',
    'bench/README.md for what each scenario does). Every baseline is measured in the same run, alternating',
    'with the figure it is compared with, so ratios hold better than absolute numbers on a noisy',
    'machine. The load client and the OpenAI-compatible stub run in the benchmark process, on the',
    'same cores as the server.',
    '',
    ...machineLines(m, extra),
    '',
    table(rows),
    '',
    '## Notes',
    '',
    ...notes.flatMap((n) => [`**${n.title}**`, '', ...n.lines.map((l) => `- ${l}`), '']),
  ].join('\n');
}
