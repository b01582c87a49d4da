import { BenchUser, registerUsers } from '../lib/api';
import { jsonRequest, LoadResult, runLoad, Sample } from '../lib/load';
import { Row, Scenario, ScenarioContext, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';
import { summarize, Summary } from '../lib/stats';
import { Upstream } from '../lib/upstream';

export const USERS = 64;
export const LATENCY_MS = 50;

/** A turn's text: a unique token (matched in the stub's calls) in lowercase, entity-free words. */
export const turnMessage = (token: string): string => `please answer briefly ${token}`;

export type Target = 'turn' | 'baseline' | 'stream';

/** The request for one connection (one user, in their own session). */
export function requestFor(target: Target, users: BenchUser[]) {
  return (conn: number, token: string) => {
    const user = users[conn % users.length];
    const message = turnMessage(token);
    if (target === 'baseline') return jsonRequest('POST', '/turn', undefined, { message });
    return jsonRequest('POST', `/api/v1/chat/${user.id}`, user.token, {
      message,
      session_id: user.sessionId,
      ...(target === 'stream' ? { stream: true } : {}),
    });
  };
}

interface Attributed {
  latency: number[];
  upstream: number[];
  overhead: number[];
  firstDelta: number[];
  firstDeltaOverhead: number[];
  embeddingCalls: number;
  unmatched: number;
  failed: number;
}

/** Matches each response with the stub's timing of its token. */
export function attribute(upstream: Upstream, samples: Sample[], latencyMs: number): Attributed {
  const a: Attributed = {
    latency: [],
    upstream: [],
    overhead: [],
    firstDelta: [],
    firstDeltaOverhead: [],
    embeddingCalls: 0,
    unmatched: 0,
    failed: 0,
  };
  for (const s of samples) {
    const t = upstream.take(s.token);
    if (s.status !== 200) {
      a.failed++;
      continue;
    }
    if (!t || t.chatCalls !== 1 || t.embeddingCalls === 0) {
      a.unmatched++;
      continue;
    }
    a.latency.push(s.ms);
    a.upstream.push(t.embeddingMs + t.chatMs);
    // Against the floor (one embedding and one chat call at the stub's fixed latency), not what the
    // stub saw: a second embedding round trip on the path is overhead, not upstream time.
    a.overhead.push(s.ms - 2 * latencyMs);
    a.embeddingCalls += t.embeddingCalls;
    if (s.firstDeltaMs !== undefined && Number.isFinite(t.chatFirstChunkMs)) {
      a.firstDelta.push(s.firstDeltaMs);
      a.firstDeltaOverhead.push(s.firstDeltaMs - (latencyMs + t.chatFirstChunkMs));
    }
  }
  return a;
}

/** The product and, as its baseline, the bare proxy that makes only a turn's upstream calls. */
export interface TurnServers {
  server: BenchServer;
  proxy: BenchServer;
}

export async function startTurnServer(ctx: ScenarioContext, name: string, extra = {}) {
  const proxy = await BenchServer.start(
    serverEnv(ctx.upstream.double.baseURL, tempDir(`${name}-proxy`)),
    'proxy',
  );
  const server = await BenchServer.start(
    serverEnv(ctx.upstream.double.baseURL, tempDir(name), {
      MEMORY_WORKERS_ENABLED: 'false',
      ...extra,
    }),
  );
  ctx.log(
    `server up (pid ${server.pid}, ready in ${Math.round(server.readyMs)} ms); seeding users`,
  );
  const users = await registerUsers(server.url, name, USERS, { session: true });
  return { servers: { server, proxy }, users };
}

/**
 * Unmeasured load on both code paths first: a fresh process runs cold code for its first seconds
 * (without this, CPU per request fell by a third from the first 10 s round to the second).
 */
export async function warmUp(ctx: ScenarioContext, servers: TurnServers, users: BenchUser[]) {
  const seconds = ctx.quick ? 2 : 5;
  ctx.log(`warming up: baseline proxy and turns, ${seconds} s each`);
  await load(ctx, servers, users, 'baseline', seconds);
  await load(ctx, servers, users, 'turn', seconds);
  ctx.upstream.reset();
}

export function load(
  ctx: ScenarioContext,
  servers: TurnServers,
  users: BenchUser[],
  target: Target,
  s: number,
  connections = USERS,
) {
  const server = target === 'baseline' ? servers.proxy : servers.server;
  return runLoad({
    label: connections === 1 ? `${target}-1` : target,
    serverCpuMs: () => server.cpuMs(),
    baseUrl: server.url,
    connections,
    durationS: s,
    warmupMs: ctx.quick ? 500 : 1000,
    request: requestFor(target, users),
    token: () => ctx.upstream.token(),
    sse: target === 'stream',
  });
}

const ms = (x: number) => round(x, 1);

/**
 * Scenario 1: what a turn adds to the model's own time, with the stub answering every call in
 * 50 ms; the baseline proxy (the same upstream calls, nothing else) runs alternately beside it.
 */
export const turnScenario: Scenario = {
  name: 'turn',
  title: 'Turn overhead (stub 50 ms per call, 64 users)',
  async run(ctx): Promise<ScenarioOutput> {
    const { servers, users } = await startTurnServer(ctx, 'turn');
    const { server } = servers;
    const rounds = ctx.quick ? 1 : 2;
    const seconds = ctx.quick ? 4 : 10;
    try {
      ctx.upstream.setLatency(LATENCY_MS);
      await warmUp(ctx, servers, users);
      const turn: Sample[] = [];
      const base: Sample[] = [];
      const runs: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        ctx.log(`round ${r + 1}/${rounds}: baseline proxy ${seconds} s, then turns ${seconds} s`);
        const b = await load(ctx, servers, users, 'baseline', seconds);
        base.push(...b.samples);
        const t = await load(ctx, servers, users, 'turn', seconds);
        turn.push(...t.samples);
        runs.push(b, t);
      }
      ctx.log(`streaming turns ${seconds * rounds} s`);
      const stream = await load(ctx, servers, users, 'stream', seconds * rounds);
      const single = seconds / 2;
      ctx.log(`one user: baseline proxy, turns, streamed turns, ${single} s each`);
      const b1 = attribute(
        ctx.upstream,
        (await load(ctx, servers, users, 'baseline', single, 1)).samples,
        LATENCY_MS,
      );
      const t1 = attribute(
        ctx.upstream,
        (await load(ctx, servers, users, 'turn', single, 1)).samples,
        LATENCY_MS,
      );
      const s1 = attribute(
        ctx.upstream,
        (await load(ctx, servers, users, 'stream', single, 1)).samples,
        LATENCY_MS,
      );
      const rssAfterMb = server.rssMb();

      const at = attribute(ctx.upstream, turn, LATENCY_MS);
      const ab = attribute(ctx.upstream, base, LATENCY_MS);
      const as = attribute(ctx.upstream, stream.samples, LATENCY_MS);
      const turnRate =
        runs.filter((_, i) => i % 2 === 1).reduce((s, r) => s + r.perSecond, 0) / rounds;
      ctx.shared.turnsPerSecond50ms = turnRate;
      const [lt, ot, ob, lb, fd, fo] = [
        at.latency,
        at.overhead,
        ab.overhead,
        ab.latency,
        as.firstDelta,
        as.firstDeltaOverhead,
      ].map(summarize);
      const up = summarize(at.upstream);
      const [o1, ob1, so1] = [t1.overhead, b1.overhead, s1.firstDeltaOverhead].map(summarize);
      const rows: Row[] = [
        ...(['p50', 'p95', 'p99'] as const).map((p): Row => ({
          scenario: 'turn',
          metric: `turn latency ${p}`,
          value: ms(lt[p]),
          unit: 'ms',
          baseline: { label: 'baseline proxy', value: ms(lb[p]) },
          ratio: round(lt[p] / lb[p], 2),
        })),
        overheadRow('overhead p50', ot, ob, 'p50', 5),
        overheadRow('overhead p95', ot, ob, 'p95'),
        overheadRow('overhead p99', ot, ob, 'p99', 25),
        {
          scenario: 'turn',
          metric: 'overhead p50 / p99 at 1 user (no queueing)',
          value: ms(o1.p50),
          unit: 'ms',
          baseline: { label: 'baseline proxy overhead p50', value: ms(ob1.p50) },
          ratio: round(o1.p50 / ob1.p50, 2),
          note: `p99 ${ms(o1.p99)} ms (baseline ${ms(ob1.p99)} ms)`,
        },
        {
          scenario: 'turn',
          metric: 'turns/s (64 users, 50 ms upstream)',
          value: round(turnRate, 1),
          unit: '/s',
        },
        {
          scenario: 'turn',
          metric: 'SSE first delta − upstream to first token, p50 (64 users)',
          value: ms(fo.p50),
          unit: 'ms',
          target: '≤ 5 ms',
          pass: fo.p50 <= 5,
          note: `time to first delta p50 ${ms(fd.p50)} ms, p99 ${ms(fd.p99)} ms; overhead p99 ${ms(fo.p99)} ms`,
        },
        {
          scenario: 'turn',
          metric: 'SSE first delta − upstream to first token, p50 at 1 user',
          value: ms(so1.p50),
          unit: 'ms',
          baseline: { label: 'JSON turn overhead p50 at 1 user', value: ms(o1.p50) },
          ratio: round(so1.p50 / o1.p50, 2),
          note: `p99 ${ms(so1.p99)} ms`,
        },
      ];
      return {
        rows,
        details: {
          stubLatencyMs: LATENCY_MS,
          connections: USERS,
          secondsPerRound: seconds,
          rounds,
          turn: {
            latency: lt,
            overhead: ot,
            upstream: up,
            unmatched: at.unmatched,
            failed: at.failed,
          },
          baseline: { latency: lb, overhead: ob, unmatched: ab.unmatched, failed: ab.failed },
          stream: { firstDelta: fd, overhead: fo, unmatched: as.unmatched, failed: as.failed },
          oneUser: { turnOverhead: o1, baselineOverhead: ob1, streamFirstDeltaOverhead: so1 },
          embeddingCallsPerTurn: round(at.embeddingCalls / Math.max(1, at.latency.length), 2),
          stubCalls: { ...ctx.upstream.calls },
          unattributedStubCalls: { ...ctx.upstream.unattributed },
          statuses: runs.map((r) => r.statuses),
          serverCpuMsPerRequest: runs.map((r) => round(r.cpuMsPerRequest, 2)),
          benchProcessCpuPercent: runs.map((r) => round(r.benchCpuPercent, 0)),
          serverRssAfterMb: round(rssAfterMb, 0),
        },
        notes: [
          `Overhead = turn latency − ${2 * LATENCY_MS} ms (one embedding and one chat call at the stub's ${LATENCY_MS} ms, the least a turn can take); ` +
            "SSE overhead = first delta − (one embedding call + the stub's time to its first chunk). " +
            'Baseline: the bare proxy (bench/baseline/proxy-server.ts), its own process. ' +
            'Workers off (MEMORY_WORKERS_ENABLED=false): the mixed scenario measures turns with extraction on.',
        ],
      };
    } finally {
      ctx.upstream.setLatency(0);
      ctx.upstream.reset();
      await server.stop();
      await servers.proxy.stop();
    }
  },
};

function overheadRow(
  metric: string,
  turn: Summary,
  base: Summary,
  p: 'p50' | 'p95' | 'p99',
  max?: number,
): Row {
  return {
    scenario: 'turn',
    metric,
    value: ms(turn[p]),
    unit: 'ms',
    baseline: { label: 'baseline proxy overhead', value: ms(base[p]) },
    ratio: round(turn[p] / base[p], 2),
    ...(max === undefined ? {} : { target: `≤ ${max} ms`, pass: turn[p] <= max }),
  };
}
