/**
 * Summarises a V8 CPU profile (from `npm run bench -- --profile`): where the self time went, by
 * package and by function, optionally only while one load phase ran (the `label`s in phases.json
 * beside the profile: turn, baseline, stream, me, live, login, http-search, drain-0ms, ...).
 *
 *   npx ts-node --transpile-only bench/profile.ts FILE.cpuprofile [--phase=turn] [--top=25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { Phase } from './lib/phases';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** "node_modules/@nestjs/core/..." → "@nestjs/core"; app code by its first folders. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 13).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = /dist\/apps\/[^/]+\/(.*)$/.exec(url);
  if (dist) return dist[1].split('/').slice(0, 4).join('/');
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

/** Whether a sample time (µs, monotonic) falls in a window of the phase; all do without one. */
function phaseFilter(file: string, label: string | undefined): (us: number) => boolean {
  if (!label) return () => true;
  const path = join(dirname(file), 'phases.json');
  if (!existsSync(path)) throw new Error(`no phases.json beside ${file}`);
  const windows = (JSON.parse(readFileSync(path, 'utf8')) as Phase[]).filter(
    (p) => p.label === label,
  );
  if (windows.length === 0) throw new Error(`no phase "${label}" in ${path}`);
  return (us) => windows.some((w) => us >= w.startUs && us <= w.endUs);
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const option = (name: string) =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (!file) {
    console.error('usage: bench/profile.ts FILE.cpuprofile [--phase=LABEL] [--top=N]');
    process.exit(1);
  }
  const top = Number(option('top') ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const inPhase = phaseFilter(file, option('phase'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (inPhase(at)) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (frame: ProfileNode['callFrame']) =>
    `${frame.functionName || '(anonymous)'}  ${packageOf(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
  let idle = 0;
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  // Inclusive: a sample counts for every function on its (synchronous) stack, once.
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const name = label(frame);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const caller = byId.get(at)?.callFrame;
      if (caller?.url) seen.add(label(caller));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
  const busy = [...packages.values()].reduce((a, b) => a + b, 0);
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title} (share of busy time)`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  console.log(`${(busy / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle`);
  print('Self time by package', packages);
  print('Self time by function', functions);
  print('Total (inclusive) time by function', inclusive);
}

main();
