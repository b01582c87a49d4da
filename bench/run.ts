/**
 * `npm run bench`: builds the app, then runs the benchmark scenarios against the built server on
 * the embedded default (SQLite and mem0's stores in a temporary DATA_DIR) with an OpenAI-compatible
 * stub, prints a markdown table, and writes bench/RESULTS.md and bench/results.json (full runs) or
 * bench/out/ (--quick or --only runs).
 *
 *   npm run bench                          every scenario (15-19 minutes on 2 cores)
 *   npm run bench -- --only=mixed,auth     some of them
 *   npm run bench -- --quick               smaller and shorter: a smoke check, not figures
 *   npm run bench -- --only=soak           50 users for 30 s: no 5xx, every turn stored once,
 *                                          every job done, RSS levels off (fails the run if not)
 *   npm run bench -- --only=turn --profile CPU profiles of the servers into bench/out/profiles
 *                                          (read them with `npx ts-node bench/profile.ts FILE`)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { format, resolveConfig } from 'prettier';

import { phases } from './lib/phases';
import { machine, machineLines, resultsMarkdown, table } from './lib/report';
import { Row, Scenario, ScenarioContext } from './lib/scenario';
import {
  builtEntriesExist,
  killServers,
  profileServersInto,
  removeTempDirs,
  ROOT,
} from './lib/server';
import { Upstream } from './lib/upstream';
import { authScenario } from './scenarios/auth';
import { extractionScenario } from './scenarios/extraction';
import { footprintScenario } from './scenarios/footprint';
import { mixedScenario } from './scenarios/mixed';
import { searchScenario } from './scenarios/search';
import { soakScenario } from './scenarios/soak';
import { throughputScenario } from './scenarios/throughput';
import { turnScenario } from './scenarios/turn';

// mem0ai reads these when first imported (the search scenario imports its memory store).
process.env.MEM0_TELEMETRY = 'false';
process.env.MEM0_DIR = join(tmpdir(), 'bench-mem0');

const SCENARIOS: Scenario[] = [
  mixedScenario,
  turnScenario,
  throughputScenario,
  searchScenario,
  extractionScenario,
  authScenario,
  footprintScenario,
  soakScenario,
];

interface Args {
  only: string[];
  quick: boolean;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: SCENARIOS.map((s) => s.name), quick: false, profile: false };
  for (const arg of argv) {
    if (arg === '--quick') args.quick = true;
    else if (arg === '--profile') args.profile = true;
    else if (arg.startsWith('--only=')) args.only = arg.slice(7).split(',').filter(Boolean);
    else if (arg === '--help' || arg === '-h') usage(0);
    else usage(1, `unknown argument ${arg}`);
  }
  const unknown = args.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) usage(1, `unknown scenario ${unknown.join(', ')}`);
  return args;
}

function usage(code: number, problem?: string): never {
  if (problem) console.error(problem);
  console.error(
    `usage: npm run bench -- [--quick] [--profile] [--only=${SCENARIOS.map((s) => s.name).join(',')}]`,
  );
  process.exit(code);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killServers();
      removeTempDirs();
      process.exit(130);
    });
  }
  if (!builtEntriesExist()) {
    console.error('No build in dist/: run `npm run build` first (`npm run bench` does).');
    process.exit(1);
  }
  const full = !args.quick && !args.profile && args.only.length === SCENARIOS.length;
  const m = machine();
  const profiles = join(ROOT, 'bench', 'out', 'profiles', m.date.replace(/[:]/g, '-'));
  if (args.profile) {
    profileServersInto(profiles);
    console.log(`CPU profiles go to ${profiles} (figures are slower while profiling)`);
  }
  const began = performance.now();
  const clock = () => `${Math.round((performance.now() - began) / 1000)}s`.padStart(5);
  const upstream = new Upstream();
  await upstream.start();
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const notes: { title: string; lines: string[] }[] = [];
  const shared: Record<string, number> = {};
  try {
    for (const scenario of SCENARIOS.filter((s) => args.only.includes(s.name))) {
      console.log(`${clock()} == ${scenario.title}`);
      const ctx: ScenarioContext = {
        quick: args.quick,
        upstream,
        shared,
        log: (message) => console.log(`${clock()}    ${message}`),
      };
      try {
        const out = await scenario.run(ctx);
        const failed = (out.failures ?? []).map((line) => `CHECK FAILED: ${line}`);
        rows.push(...out.rows);
        details[scenario.name] = { ...out.details, ...(failed.length ? { failed } : {}) };
        notes.push({ title: scenario.title, lines: [...failed, ...out.notes] });
        console.log(`\n${table(out.rows)}\n`);
        for (const line of failed) console.error(`${scenario.name}: ${line}`);
      } catch (error) {
        // One broken scenario should not cost the others' figures.
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        console.error(`${scenario.name} failed: ${message}`);
        notes.push({ title: scenario.title, lines: [`FAILED: ${message.split('\n')[0]}`] });
        details[scenario.name] = { failed: message };
      }
    }
  } finally {
    await upstream.stop();
    removeTempDirs();
    if (args.profile) {
      mkdirSync(profiles, { recursive: true });
      writeFileSync(join(profiles, 'phases.json'), JSON.stringify(phases, null, 2));
    }
  }

  const seconds = Math.round((performance.now() - began) / 1000);
  const extra = [
    `Mode: ${args.quick ? 'quick (smoke check: small and short, not figures)' : 'full'}` +
      `${args.profile ? ', profiling (slower)' : ''}; ` +
      `scenarios: ${args.only.join(', ')}; took ${Math.floor(seconds / 60)} min ${seconds % 60} s`,
  ];
  const dir = full ? join(ROOT, 'bench') : join(ROOT, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const markdown = resultsMarkdown(m, extra, rows, notes);
  const json = { machine: m, mode: args.quick ? 'quick' : 'full', scenarios: args.only, seconds };
  await write(join(dir, 'RESULTS.md'), markdown);
  await write(join(dir, 'results.json'), JSON.stringify({ ...json, rows, details }, null, 2));
  console.log(`\n${machineLines(m, extra).join('\n')}\n\n${table(rows)}\n`);
  console.log(`Written: ${join(dir, 'RESULTS.md')} and results.json`);
  if (Object.values(details).some((d) => typeof d === 'object' && d && 'failed' in d)) {
    process.exitCode = 1;
  }
}

/** Committed files: formatted as `npm run format:check` wants, no paths of this machine. */
async function write(path: string, text: string): Promise<void> {
  const scrubbed = text.split(ROOT).join('.').split(tmpdir()).join('$TMPDIR');
  const options = (await resolveConfig(path)) ?? {};
  writeFileSync(path, await format(scrubbed, { ...options, filepath: path }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
