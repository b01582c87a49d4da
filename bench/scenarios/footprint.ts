import { performance } from 'node:perf_hooks';

import { registerUsers } from '../lib/api';
import { runLoad } from '../lib/load';
import { Row, Scenario, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';
import { median } from '../lib/stats';
import { requestFor, USERS } from './turn';

const IDLE_SETTLE_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Scenario 6: cold start (spawn to /health/live and /health/ready on a fresh DATA_DIR), idle RSS,
 * and RSS after rounds of chat load with the default in-process workers on.
 */
export const footprintScenario: Scenario = {
  name: 'footprint',
  title: 'Footprint',
  async run(ctx): Promise<ScenarioOutput> {
    const starts = ctx.quick ? 1 : 3;
    const live: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < starts - 1; i++) {
      const s = await BenchServer.start(serverEnv(ctx.upstream.double.baseURL, tempDir('cold')));
      live.push(s.liveMs);
      ready.push(s.readyMs);
      await s.stop();
    }
    const server = await BenchServer.start(
      serverEnv(ctx.upstream.double.baseURL, tempDir('footprint')),
    );
    live.push(server.liveMs);
    ready.push(server.readyMs);
    try {
      await sleep(IDLE_SETTLE_MS);
      const idle = server.rssMb();
      ctx.log(`idle RSS ${round(idle)} MiB; registering ${USERS} users`);
      const users = await registerUsers(server.url, 'footprint', USERS, { session: true });
      // Round 1 warms up (code, heap, caches); growth is judged from the end of round 2 on.
      const rounds = ctx.quick ? 3 : 4;
      const seconds = ctx.quick ? 4 : 10;
      const after: number[] = [];
      const turns: number[] = [];
      for (let r = 0; r < rounds; r++) {
        ctx.log(`round ${r + 1}/${rounds}: ${USERS} users chatting ${seconds} s (workers on)`);
        const started = performance.now();
        const result = await runLoad({
          label: 'footprint-turn',
          baseUrl: server.url,
          connections: USERS,
          durationS: seconds,
          token: () => ctx.upstream.token(),
          request: requestFor('turn', users),
        });
        turns.push(Object.values(result.statuses).reduce((a, b) => a + b, 0));
        await sleep(Math.max(0, 2000 - (performance.now() - started - seconds * 1000)));
        after.push(server.rssMb());
      }
      const peak = server.peakRssMb();
      const growth = after[after.length - 1] / after[1];
      const rows: Row[] = [
        {
          scenario: 'footprint',
          metric: 'idle RSS after start',
          value: round(idle, 0),
          unit: 'MiB',
          target: '≤ 200 MiB',
          pass: idle <= 200,
        },
        {
          scenario: 'footprint',
          metric: `RSS after load (round ${rounds} of ${rounds})`,
          value: round(after[after.length - 1], 0),
          unit: 'MiB',
          baseline: { label: 'after round 2', value: round(after[1], 0) },
          ratio: round(growth, 2),
          target: 'no growth (≤ 1.10× round 2)',
          pass: growth <= 1.1,
          note: `after each round: ${after.map((x) => round(x, 0)).join(', ')} MiB; peak ${round(peak, 0)} MiB`,
        },
        {
          scenario: 'footprint',
          metric: 'cold start: spawn → /health/ready',
          value: round(median(ready), 0),
          unit: 'ms',
          baseline: { label: 'spawn → /health/live', value: round(median(live), 0) },
          ratio: round(median(ready) / median(live), 2),
          note: `median of ${starts} starts on a fresh DATA_DIR (migrations included)`,
        },
      ];
      ctx.upstream.reset();
      return {
        rows,
        details: {
          idleRssMb: idle,
          rssAfterRoundsMb: after,
          peakRssMb: peak,
          turnsPerRound: turns,
          liveMs: live,
          readyMs: ready,
        },
        notes: [
          'RSS is VmRSS of the server process from /proc. The load rounds run with the default ' +
            'in-process extraction workers on, so the job backlog and mem0 stores grow meanwhile.',
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
