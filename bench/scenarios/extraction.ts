import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { registerUsers } from '../lib/api';
import { sqliteJobCounts } from '../lib/databases';
import { jsonRequest, runLoad } from '../lib/load';
import { phase } from '../lib/phases';
import { Row, Scenario, ScenarioContext, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, Env, serverEnv, tempDir } from '../lib/server';

/** Longest drain timed; beyond it the rate so far is reported (keeps `npm run bench` ~15 min). */
const LIMIT_S = 150;
const TOPICS = ['hiking', 'jazz', 'chess', 'sushi', 'sailing', 'painting', 'running', 'tea'];

/** A turn the stub's extractor finds two facts in (sentences about "I like" / "my"). */
const factMessage = (n: number, token: string) =>
  `I like ${TOPICS[n % TOPICS.length]}. My lucky number is ${n}. Note ${token}.`;

interface Drain {
  latencyMs: number;
  jobs: number;
  done: number;
  seconds: number;
  jobsPerSecond: number;
  drained: boolean;
  failed: number;
  serverRssAfterMb: number;
  serverCpuMsPerJob: number;
  /** Calls the test double answered per finished job, by kind. */
  stubCallsPerJob: Record<string, number>;
}

/**
 * Scenario 4: a backlog of memory jobs made with the in-process workers off, then drained by a
 * server with workers on (default MEMORY_WORKER_CONCURRENCY), at stub latency 0 and 50 ms.
 */
export const extractionScenario: Scenario = {
  name: 'extraction',
  title: 'Extraction backlog drain',
  async run(ctx): Promise<ScenarioOutput> {
    const users = ctx.quick ? 10 : 100;
    const jobs = users * 20;
    const dataDir = join(tempDir('extraction'), 'backlog');
    const env = serverEnv(ctx.upstream.double.baseURL, dataDir);
    const backlog = await BenchServer.start({ ...env, MEMORY_WORKERS_ENABLED: 'false' });
    let arrival: number;
    let backlogStatuses: Record<string, number>;
    try {
      ctx.log(`registering ${users} users, then posting ${jobs} turns (workers off)`);
      const accounts = await registerUsers(backlog.url, 'extract', users, { session: true });
      let n = 0;
      const made = await runLoad({
        label: 'backlog-turn',
        baseUrl: backlog.url,
        connections: users,
        amount: jobs,
        token: () => ctx.upstream.token(),
        request: (conn, token) => {
          const user = accounts[conn];
          return jsonRequest('POST', `/api/v1/chat/${user.id}`, user.token, {
            message: factMessage(n++, token),
            session_id: user.sessionId,
          });
        },
      });
      arrival = made.perSecond;
      backlogStatuses = made.statuses;
    } finally {
      await backlog.stop();
    }
    const queued = sqliteJobCounts(dataDir);
    ctx.log(`backlog: ${JSON.stringify(queued)}`);

    const drains: Drain[] = [];
    for (const latencyMs of [0, 50]) {
      const copy = `${dataDir}-${latencyMs}ms`;
      cpSync(dataDir, copy, { recursive: true });
      ctx.upstream.setLatency(latencyMs);
      drains.push(
        await phase(`drain-${latencyMs}ms`, () =>
          drain(ctx, { ...env, DATA_DIR: copy }, latencyMs),
        ),
      );
      ctx.upstream.setLatency(0);
    }
    ctx.upstream.reset();

    const arrival0 = ctx.shared.turnsPerSecond0ms ?? arrival;
    const arrival50 = ctx.shared.turnsPerSecond50ms;
    const rows: Row[] = drains.map((d) => {
      const target = d.latencyMs === 0 ? arrival0 : arrival50;
      const source =
        d.latencyMs === 0
          ? ctx.shared.turnsPerSecond0ms
            ? 'turns/s of 64 users (throughput)'
            : `turns/s of ${users} users (backlog)`
          : 'turns/s of 64 users (turn)';
      const drained = d.drained
        ? `${d.jobs} jobs drained in ${round(d.seconds)} s`
        : `${d.done} of ${d.jobs} jobs in the ${round(d.seconds, 0)} s allowed (all would take ` +
          `~${round(d.jobs / d.jobsPerSecond, 0)} s)`;
      const note =
        `${drained}, ${d.failed} failed, server CPU ${round(d.serverCpuMsPerJob)} ms/job` +
        (target === undefined ? '; arrival n/a: run the turn scenario in the same run' : '');
      return {
        scenario: 'extraction',
        metric: `drain jobs/s, stub ${d.latencyMs} ms`,
        value: round(d.jobsPerSecond),
        unit: '/s',
        ...(target === undefined
          ? {}
          : {
              baseline: { label: `arrival: ${source}`, value: round(target) },
              ratio: round(d.jobsPerSecond / target, 2),
              target: 'drain ≥ arrival (keeps up)',
              pass: d.jobsPerSecond >= target,
            }),
        note,
      };
    });
    return {
      rows,
      details: { users, jobs, queued, backlogArrivalPerSecond: arrival, backlogStatuses, drains },
      notes: [
        'Drain time runs from the moment the server answers /health/ready (workers start at ' +
          'bootstrap) until memory_jobs holds nothing pending or running, polled every 100 ms ' +
          `from the SQLite file, for at most ${LIMIT_S} s per latency (then the rate so far is ` +
          'reported). Default MEMORY_WORKER_CONCURRENCY (16). Every turn carries two facts, so ' +
          'each job stores two memories.',
      ],
    };
  },
};

async function drain(ctx: ScenarioContext, env: Env, latencyMs: number): Promise<Drain> {
  const limitS = ctx.quick ? 60 : LIMIT_S;
  ctx.log(`draining with workers on, stub ${latencyMs} ms (at most ${limitS} s)`);
  ctx.upstream.reset();
  const server = await BenchServer.start({ ...env, MEMORY_WORKERS_ENABLED: 'true' });
  try {
    const start = performance.now();
    const cpuStart = server.cpuMs();
    const first = sqliteJobCounts(env.DATA_DIR);
    const jobs = first.pending + first.running;
    let now = first;
    while (now.pending + now.running > 0 && performance.now() - start < limitS * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      now = sqliteJobCounts(env.DATA_DIR);
    }
    const seconds = (performance.now() - start) / 1000;
    const done = jobs - now.pending - now.running;
    return {
      latencyMs,
      jobs,
      done,
      seconds,
      jobsPerSecond: done / seconds,
      drained: now.pending + now.running === 0,
      failed: now.failed,
      serverRssAfterMb: round(server.rssMb(), 0),
      serverCpuMsPerJob: (server.cpuMs() - cpuStart) / Math.max(1, done),
      stubCallsPerJob: Object.fromEntries(
        Object.entries(ctx.upstream.calls).map(([kind, n]) => [
          kind,
          round(n / Math.max(1, done), 2),
        ]),
      ),
    };
  } finally {
    await server.stop();
  }
}
