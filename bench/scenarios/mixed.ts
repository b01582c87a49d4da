import { AutocannonRequest } from 'autocannon';
import { performance } from 'node:perf_hooks';

import { BenchUser, call, registerUsers } from '../lib/api';
import { BenchDatabase, freshMariaDb, sqlite } from '../lib/databases';
import { LoadResult, runLoad } from '../lib/load';
import { factMessage } from '../lib/messages';
import { OpenLoopRequest, runOpenLoop } from '../lib/open-loop';
import { Row, Scenario, ScenarioContext, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';
import { median, summarize } from '../lib/stats';

const USERS = 32;
const LATENCY_MS = 50;
/** The least a turn can take: one embedding call and one chat completion, one after the other. */
const FLOOR_MS = 2 * LATENCY_MS;
/** Longest wait for the extraction backlog to drain after a load. */
const DRAIN_LIMIT_MS = 60_000;

type Kind = 'turn' | 'me';

/** How a side (the product or the bare-proxy baseline) is asked for a turn and for "who am I". */
interface Side {
  name: 'product' | 'baseline';
  server: BenchServer;
  request(kind: Kind, user: BenchUser, message: string): OpenLoopRequest;
}

function productSide(server: BenchServer): Side {
  return {
    name: 'product',
    server,
    request: (kind, user, message) => {
      const auth = { authorization: `Bearer ${user.token}` };
      return kind === 'turn'
        ? {
            kind,
            method: 'POST',
            path: `/api/v1/chat/${user.id}`,
            headers: auth,
            body: JSON.stringify({ message, session_id: user.sessionId }),
          }
        : { kind, method: 'GET', path: '/api/v1/auth/me', headers: auth };
    },
  };
}

function baselineSide(server: BenchServer): Side {
  return {
    name: 'baseline',
    server,
    request: (kind, _user, message) =>
      kind === 'turn'
        ? { kind, method: 'POST', path: '/turn', body: JSON.stringify({ message }) }
        : { kind, method: 'GET', path: '/me' },
  };
}

/**
 * Each user alternates a turn that tells a new fact (names, places, a year) with GET /auth/me, as
 * a client does between messages; their n-th turn tells their n-th fact, so histories and memories
 * grow through the run.
 */
class Users {
  private readonly actions: number[];
  constructor(readonly list: BenchUser[]) {
    this.actions = list.map(() => 0);
  }

  next(side: Side, index: number): OpenLoopRequest {
    const u = index % this.list.length;
    const n = this.actions[u]++;
    const kind: Kind = n % 2 === 0 ? 'turn' : 'me';
    return side.request(kind, this.list[u], factMessage(u, Math.floor(n / 2)));
  }
}

/** Closed loop: every user sends their next request when the previous answer arrives. */
async function closedLoop(
  ctx: ScenarioContext,
  side: Side,
  users: Users,
  seconds: number,
): Promise<{ turnsPerSecond: number; result: LoadResult; failed: number }> {
  const result = await runLoad({
    label: `mixed-${side.name}`,
    baseUrl: side.server.url,
    connections: USERS,
    durationS: seconds,
    warmupMs: ctx.quick ? 500 : 1000,
    serverCpuMs: () => side.server.cpuMs(),
    token: () => '',
    request: (conn): AutocannonRequest => {
      const r = users.next(side, conn);
      return {
        method: r.method,
        path: r.path,
        headers: { ...r.headers, ...(r.body ? { 'content-type': 'application/json' } : {}) },
        body: r.body,
      };
    },
  });
  const failed = Object.entries(result.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  // Requests alternate per connection, so half of the answers are turns.
  return { turnsPerSecond: result.perSecond / 2, result, failed };
}

async function drain(
  db: BenchDatabase,
  server: BenchServer,
  series: [number, number][],
  t0: number,
): Promise<{ drained: boolean; afterS: number }> {
  const from = performance.now();
  for (;;) {
    const n = await db.backlog(server.dataDir);
    series.push([round((performance.now() - t0) / 1000, 1), n]);
    if (n === 0) return { drained: true, afterS: (performance.now() - from) / 1000 };
    if (performance.now() - from > DRAIN_LIMIT_MS) return { drained: false, afterS: NaN };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * One turn on its own (no other load, the extraction backlog empty): its latency, and the
 * embedding requests that started before its chat completion (the critical path: extraction only
 * starts once the reply is stored).
 */
async function singleTurn(
  ctx: ScenarioContext,
  server: BenchServer,
  user: BenchUser,
  message: string,
): Promise<{ ms: number; embeddingRoundTrips: number }> {
  const trace: { kind: string; startedAt: number }[] = [];
  ctx.upstream.trace = trace;
  const t0 = performance.now();
  try {
    await call(
      server.url,
      'POST',
      `/api/v1/chat/${user.id}`,
      { message, session_id: user.sessionId },
      user.token,
    );
    const ms = performance.now() - t0;
    const chatAt = Math.min(...trace.filter((c) => c.kind === 'chat').map((c) => c.startedAt));
    const embeddingRoundTrips = trace.filter(
      (c) => c.kind === 'embeddings' && c.startedAt >= t0 && c.startedAt < chatAt,
    ).length;
    return { ms, embeddingRoundTrips };
  } finally {
    ctx.upstream.trace = undefined;
  }
}

async function measure(
  ctx: ScenarioContext,
  db: BenchDatabase,
  baseline: Side,
): Promise<{ rows: Row[]; details: Record<string, unknown> }> {
  const dataDir = tempDir(`mixed-${db.name.toLowerCase()}`);
  // The default configuration: in-process extraction workers on.
  const server = await BenchServer.start(
    serverEnv(ctx.upstream.double.baseURL, dataDir, db.env(dataDir)),
  );
  const product = productSide(server);
  const rounds = ctx.quick ? 1 : 2;
  const seconds = ctx.quick ? 4 : 10;
  const openSeconds = ctx.quick ? 6 : 20;
  try {
    ctx.log(`${db.name}: server up (ready in ${Math.round(server.readyMs)} ms), ${USERS} users`);
    const list = await registerUsers(server.url, 'mixed', USERS, { session: true });
    const users = new Users(list);
    const spare = await registerUsers(server.url, 'mixed-solo', 1, { session: true });
    ctx.upstream.setLatency(LATENCY_MS);
    const firstTurnMs = (await singleTurn(ctx, server, spare[0], factMessage(999, 0))).ms;

    ctx.log(
      `${db.name}: warming up, then ${rounds} × (baseline ${seconds} s, product ${seconds} s)`,
    );
    await closedLoop(ctx, baseline, users, ctx.quick ? 2 : 4);
    await closedLoop(ctx, product, users, ctx.quick ? 2 : 4);
    await drain(db, server, [], performance.now());
    const capacity = { product: [] as number[], baseline: [] as number[] };
    const closedFailures = { product: 0, baseline: 0 };
    const closedBacklog: number[] = [];
    const closedDrainS: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const side of [baseline, product]) {
        const run = await closedLoop(ctx, side, users, seconds);
        capacity[side.name].push(run.turnsPerSecond);
        closedFailures[side.name] += run.failed;
      }
      closedBacklog.push(await db.backlog(dataDir));
      closedDrainS.push((await drain(db, server, [], performance.now())).afterS);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const productCapacity = mean(capacity.product);
    const baselineCapacity = mean(capacity.baseline);

    const warm: number[] = [];
    const roundTrips: number[] = [];
    for (let i = 1; i <= 6; i++) {
      // Every fact message names a person and a place.
      await drain(db, server, [], performance.now());
      const turn = await singleTurn(ctx, server, spare[0], factMessage(999, i));
      warm.push(turn.ms);
      roundTrips.push(turn.embeddingRoundTrips);
    }
    await drain(db, server, [], performance.now());

    // Open loop at half the product's capacity: turns/s, and as many /auth/me.
    const turnRate = Math.max(1, productCapacity / 2);
    ctx.log(`${db.name}: open loop at ${round(turnRate)} turns/s for ${openSeconds} s, each side`);
    ctx.upstream.reset();
    const series: [number, number][] = [];
    const t0 = performance.now();
    const cpu0 = server.cpuMs();
    let sampling = Promise.resolve();
    const open = await runOpenLoop({
      label: 'mixed-open',
      baseUrl: server.url,
      ratePerSecond: 2 * turnRate,
      durationS: openSeconds,
      next: (i) => users.next(product, i),
      tickMs: 500,
      onTick: (ms) => {
        sampling = sampling.then(async () => {
          series.push([round(ms / 1000, 1), await db.backlog(dataDir)]);
        });
      },
    });
    await sampling;
    const loadEndS = (performance.now() - t0) / 1000;
    const drained = await drain(db, server, series, t0);
    const cpuPerTurn = (server.cpuMs() - cpu0) / Math.max(1, open.sent / 2);
    const stubCalls = { ...ctx.upstream.calls };
    const cpuB0 = baseline.server.cpuMs();
    const openBase = await runOpenLoop({
      label: 'mixed-open-baseline',
      baseUrl: baseline.server.url,
      ratePerSecond: 2 * turnRate,
      durationS: ctx.quick ? 4 : 10,
      next: (i) => users.next(baseline, i),
    });
    const baseCpuPerTurn = (baseline.server.cpuMs() - cpuB0) / Math.max(1, openBase.sent / 2);

    const of = (samples: typeof open.samples, kind: Kind) =>
      summarize(samples.filter((s) => s.kind === kind && s.status === 200).map((s) => s.ms));
    const turn = of(open.samples, 'turn');
    const me = of(open.samples, 'me');
    const baseTurn = of(openBase.samples, 'turn');
    const baseMe = of(openBase.samples, 'me');
    const failedOpen = open.samples.filter((s) => s.status !== 200).length;
    const during = series.filter(([s]) => s <= loadEndS);
    const maxDuring = Math.max(0, ...during.map(([, n]) => n));
    const third = Math.max(1, Math.floor(during.length / 3));
    const early = mean(during.slice(0, third).map(([, n]) => n));
    const late = mean(during.slice(-third).map(([, n]) => n));
    const turnsDone = turn.n;
    const name = db.name;
    const ms = (x: number) => round(x, 1);
    const warmP50 = median(warm);

    const rows: Row[] = [
      {
        scenario: 'mixed',
        metric: `${name}: closed-loop capacity (${USERS} users, turn + /auth/me)`,
        value: round(productCapacity, 1),
        unit: '/s',
        baseline: { label: 'bare proxy turns/s', value: round(baselineCapacity, 1) },
        ratio: round(productCapacity / baselineCapacity, 2),
        target: '≥ 0.5×',
        pass: productCapacity / baselineCapacity >= 0.5,
        note: `turns/s; non-2xx: ${closedFailures.product}; backlog after each round ${closedBacklog.join(', ')} jobs, drained in ${closedDrainS.map((s) => round(s, 1)).join(', ')} s`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: open-loop turn overhead p50 over 2 upstream calls (${round(turnRate)} turns/s)`,
        value: ms(turn.p50 - FLOOR_MS),
        unit: 'ms',
        baseline: { label: 'bare proxy overhead p50', value: ms(baseTurn.p50 - FLOOR_MS) },
        target: '≤ 10 ms',
        pass: turn.p50 - FLOOR_MS <= 10,
        note: `turn p50 ${ms(turn.p50)} ms; non-200: ${failedOpen}`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: open-loop turn overhead p99`,
        value: ms(turn.p99 - FLOOR_MS),
        unit: 'ms',
        baseline: { label: 'bare proxy overhead p99', value: ms(baseTurn.p99 - FLOOR_MS) },
        target: '≤ 50 ms',
        pass: turn.p99 - FLOOR_MS <= 50,
      },
      {
        scenario: 'mixed',
        metric: `${name}: /auth/me p99 under the open-loop load`,
        value: ms(me.p99),
        unit: 'ms',
        baseline: { label: 'bare proxy /me p99', value: ms(baseMe.p99) },
        target: '≤ 10 ms',
        pass: me.p99 <= 10,
        note: `p50 ${ms(me.p50)} ms`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: extraction backlog drained after the open-loop load`,
        value: round(drained.afterS, 1),
        unit: 's',
        target: '≤ 5 s, no growth',
        pass: drained.drained && drained.afterS <= 5 && late <= Math.max(early * 2, early + USERS),
        note: `at most ${maxDuring} jobs during the load (first third ${round(early)}, last third ${round(late)})`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: server CPU per turn (with its extraction and one /auth/me)`,
        value: round(cpuPerTurn, 2),
        unit: 'ms',
        baseline: { label: 'bare proxy CPU per turn', value: round(baseCpuPerTurn, 2) },
        ratio: round(cpuPerTurn / baseCpuPerTurn, 2),
        note: `stub calls per turn: ${Object.entries(stubCalls)
          .map(([k, n]) => `${k} ${round(n / Math.max(1, turnsDone), 2)}`)
          .join(', ')}`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: embedding round trips on a turn's critical path (message names someone)`,
        value: Math.max(...roundTrips),
        unit: '',
        target: '1',
        pass: Math.max(...roundTrips) <= 1,
        note: `per probe turn: ${roundTrips.join(', ')}`,
      },
      {
        scenario: 'mixed',
        metric: `${name}: first turn after /health/ready`,
        value: ms(firstTurnMs),
        unit: 'ms',
        baseline: { label: 'warm turn p50, one user', value: ms(warmP50) },
        ratio: round(firstTurnMs / warmP50, 2),
        target: '≤ 2×',
        pass: firstTurnMs <= 2 * warmP50,
      },
    ];
    return {
      rows,
      details: {
        capacity,
        closedFailures,
        closedBacklog,
        closedDrainS,
        openLoop: { turnRate, turn, me, baselineTurn: baseTurn, baselineMe: baseMe, failedOpen },
        backlogSeries: series,
        backlogEarlyLate: [early, late],
        stubCallsDuringOpenLoop: stubCalls,
        cpuPerTurn,
        baseCpuPerTurn,
        firstTurnMs,
        warmTurnsMs: warm,
        criticalPathEmbeddingRoundTrips: roundTrips,
        serverRssAfterMb: round(server.rssMb(), 0),
      },
    };
  } finally {
    ctx.upstream.setLatency(0);
    ctx.upstream.reset();
    await server.stop();
  }
}

/**
 * The headline scenario: what users get. 32 users each alternate a turn that tells a new fact
 * (names, places, years) with GET /auth/me, the model answering every call in 50 ms, the default
 * configuration (extraction in process), on SQLite and on MariaDB. The baseline is a bare proxy
 * (bench/baseline/proxy-server.ts) that makes only a turn's two upstream calls, started by the
 * benchmark and measured in the same run, alternating with the product.
 */
export const mixedScenario: Scenario = {
  name: 'mixed',
  title: 'Mixed load: turns with new facts + /auth/me, extraction on (stub 50 ms per call)',
  async run(ctx): Promise<ScenarioOutput> {
    const proxy = await BenchServer.start(
      serverEnv(ctx.upstream.double.baseURL, tempDir('proxy')),
      'proxy',
    );
    const baseline = baselineSide(proxy);
    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    const notes = [
      `Overhead = turn latency − ${FLOOR_MS} ms (an embedding call and a chat completion at ${LATENCY_MS} ms each, the least a turn can take); the open loop sends at half the measured closed-loop capacity.`,
      'CPU per turn counts the server from the start of the open-loop load until its extraction backlog is empty, divided by the turns sent.',
    ];
    try {
      const maria = await freshMariaDb('mixed');
      const databases = [sqlite, ...(maria.db ? [maria.db] : [])];
      if (maria.problem) notes.push(`MariaDB skipped: ${maria.problem}`);
      for (const db of databases) {
        try {
          const out = await measure(ctx, db, baseline);
          rows.push(...out.rows);
          details[db.name] = out.details;
        } finally {
          await db.drop();
        }
      }
    } finally {
      await proxy.stop();
    }
    return { rows, details, notes };
  },
};
