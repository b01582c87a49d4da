import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = join(__dirname, '..', '..');
const ENTRIES = {
  api: [join(ROOT, 'dist/apps/api/apps/api/src/main.js')],
  worker: [join(ROOT, 'dist/apps/worker/apps/worker/src/main.js')],
  /** The baseline: a bare proxy that makes a turn's two upstream calls (bench/baseline). */
  proxy: [
    '-r',
    require.resolve('ts-node/register/transpile-only'),
    join(ROOT, 'bench/baseline/proxy-server.ts'),
  ],
};
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** USER_HZ: 100 on every Linux we run on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

export type Env = Record<string, string>;

let nodeArgs: string[] = [];

/**
 * `--profile`: every server writes a V8 CPU profile into `dir` when it stops. Nest re-raises
 * SIGTERM after its shutdown, which would kill the process before the profile is written, so a
 * preloaded listener turns the signal into an ordinary exit.
 */
export function profileServersInto(dir: string): void {
  // A preloaded CommonJS file, not `--import data:...`: with --import, Node 20 loads the entry
  // through its ESM loader, which refuses the proxy's TypeScript source.
  mkdirSync(dir, { recursive: true });
  const onSigterm = join(dir, 'exit-on-sigterm.js');
  writeFileSync(onSigterm, 'process.on("SIGTERM",()=>setTimeout(()=>process.exit(0),2000));\n');
  nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--require', onSigterm];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const tempDirs: string[] = [];
const running = new Set<ChildProcess>();

/** On Ctrl-C: no server left behind. */
export function killServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A fresh directory under the OS temp dir; `removeTempDirs` deletes them all (GBs at 100k). */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function builtEntriesExist(): boolean {
  return existsSync(ENTRIES.api[0]) && existsSync(ENTRIES.worker[0]);
}

/**
 * The environment of every benchmarked server: the embedded default (SQLite and mem0's stores
 * under DATA_DIR), production mode, quiet logs, abuse limits off.
 * BCRYPT_COST 10 (the minimum) keeps seeding users fast; the auth scenario sets the default back.
 */
export function serverEnv(upstreamUrl: string, dataDir: string, extra: Env = {}): Env {
  return {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    API_HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    THROTTLE_LOGIN_FAILURES: '0',
    THROTTLE_REGISTER_PER_HOUR: '0',
    THROTTLE_CHAT_PER_MINUTE: '0',
    THROTTLE_LOGIN_PER_HOUR: '0',
    THROTTLE_MEMORY_PER_MINUTE: '0',
    THROTTLE_SESSIONS_PER_HOUR: '0',
    MEM0_TELEMETRY: 'false',
    OPENAI_API_KEY: 'bench-not-a-key',
    OPENAI_BASE_URL: upstreamUrl,
    EMBEDDING_DIMS: '1536',
    BCRYPT_COST: '10',
    ...extra,
  };
}

/** The built server (or worker) as its own process, as `npm run start:prod` runs it. */
export class BenchServer {
  /** Milliseconds from spawn to the first 200 of /health/live and of /health/ready. */
  liveMs = NaN;
  readyMs = NaN;
  private output = '';
  private exited?: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly dataDir: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(env: Env, entry: keyof typeof ENTRIES = 'api'): Promise<BenchServer> {
    const port = await freePort();
    mkdirSync(env.DATA_DIR, { recursive: true });
    const started = performance.now();
    // cwd is DATA_DIR so that a developer's ./.env is not picked up.
    const child = spawn(process.execPath, [...nodeArgs, ...ENTRIES[entry]], {
      cwd: env.DATA_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        API_PORT: String(port),
        // The proxy runs from its TypeScript source, and cwd is not the repository.
        TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const server = new BenchServer(child, `http://127.0.0.1:${port}`, env.DATA_DIR);
    if (entry !== 'worker') {
      server.liveMs = (await server.waitFor('/health/live', started)) - started;
      server.readyMs = (await server.waitFor('/health/ready', started)) - started;
    }
    return server;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident set size of the server process (VmRSS), in MiB. */
  rssMb(): number {
    return this.status('VmRSS');
  }

  /** Peak resident set size (VmHWM), in MiB. */
  peakRssMb(): number {
    return this.status('VmHWM');
  }

  /** CPU time (user + system) the server process has used so far, in ms (10 ms resolution). */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime is 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS);
  }

  logTail(): string {
    return this.output.slice(-4000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private status(field: string): number {
    const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return kb / 1024;
  }

  private async waitFor(path: string, started: number): Promise<number> {
    for (;;) {
      if (this.child.exitCode !== null) {
        throw new Error(`The server exited (${this.child.exitCode}):\n${this.logTail()}`);
      }
      if (performance.now() - started > START_TIMEOUT_MS) {
        await this.stop();
        throw new Error(`The server did not answer ${path} in time:\n${this.logTail()}`);
      }
      try {
        const res = await fetch(this.url + path);
        await res.arrayBuffer();
        if (res.status === 200) return performance.now();
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
