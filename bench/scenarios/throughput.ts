import { Sample } from '../lib/load';
import { Row, Scenario, ScenarioOutput, round } from '../lib/scenario';
import { summarize } from '../lib/stats';
import { load, startTurnServer, USERS, warmUp } from './turn';

/**
 * Scenario 2: turns per second with an instant stub, against the baseline proxy that makes
 * only a turn's upstream calls (one embedding, one chat completion), alternating round by round.
 */
export const throughputScenario: Scenario = {
  name: 'throughput',
  title: 'Turn throughput (stub 0 ms, 64 users)',
  async run(ctx): Promise<ScenarioOutput> {
    const { servers, users } = await startTurnServer(ctx, 'throughput');
    const { server } = servers;
    const rounds = ctx.quick ? 1 : 2;
    const seconds = ctx.quick ? 4 : 10;
    const rate = { turn: [] as number[], baseline: [] as number[] };
    const cpu = { turn: [] as number[], baseline: [] as number[] };
    const benchCpu = { turn: [] as number[], baseline: [] as number[] };
    const latency = { turn: [] as Sample[], baseline: [] as Sample[] };
    const statuses: Record<string, number>[] = [];
    try {
      ctx.upstream.setLatency(0);
      await warmUp(ctx, servers, users);
      for (let r = 0; r < rounds; r++) {
        for (const target of ['baseline', 'turn'] as const) {
          ctx.log(`round ${r + 1}/${rounds}: ${target} ${seconds} s`);
          const result = await load(ctx, servers, users, target, seconds);
          rate[target].push(result.perSecond);
          cpu[target].push(result.cpuMsPerRequest);
          benchCpu[target].push(round(result.benchCpuPercent, 0));
          latency[target].push(...result.samples);
          statuses.push(result.statuses);
        }
      }
      const rssAfterMb = server.rssMb();
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const turnRate = mean(rate.turn);
      const baseRate = mean(rate.baseline);
      const turnCpu = mean(cpu.turn);
      const baseCpu = mean(cpu.baseline);
      ctx.shared.turnsPerSecond0ms = turnRate;
      const lt = summarize(latency.turn.map((s) => s.ms));
      const lb = summarize(latency.baseline.map((s) => s.ms));
      const rows: Row[] = [
        {
          scenario: 'throughput',
          metric: 'turns/s',
          value: round(turnRate),
          unit: '/s',
          baseline: { label: 'baseline proxy req/s', value: round(baseRate) },
          ratio: round(turnRate / baseRate, 2),
          target: 'ratio ≥ 0.5×',
          pass: turnRate / baseRate >= 0.5,
          note: `the load client and stub used ${Math.max(...benchCpu.turn, ...benchCpu.baseline)}% of a core at most`,
        },
        {
          scenario: 'throughput',
          metric: 'server CPU per turn',
          value: round(turnCpu, 2),
          unit: 'ms',
          baseline: { label: 'per baseline request', value: round(baseCpu, 2) },
          ratio: round(turnCpu / baseCpu, 2),
        },
        {
          scenario: 'throughput',
          metric: 'turn latency p50 / p99 at saturation',
          value: round(lt.p50),
          unit: 'ms',
          baseline: { label: 'baseline p50', value: round(lb.p50) },
          ratio: round(lt.p50 / lb.p50, 2),
          note: `p99 ${round(lt.p99)} ms vs baseline p99 ${round(lb.p99)} ms`,
        },
      ];
      return {
        rows,
        details: {
          connections: USERS,
          secondsPerRound: seconds,
          rounds,
          perSecond: rate,
          serverCpuMsPerRequest: cpu,
          benchProcessCpuPercent: benchCpu,
          latency: { turn: lt, baseline: lb },
          statuses,
          serverRssAfterMb: round(rssAfterMb, 0),
        },
        notes: [
          'Closed loop: each of the 64 connections sends its next request when the previous answer ' +
            'arrives, so the server runs saturated; CPU per request (from /proc) is the figure ' +
            'least disturbed by the load client sharing the machine.',
        ],
      };
    } finally {
      ctx.upstream.reset();
      await server.stop();
      await servers.proxy.stop();
    }
  },
};
