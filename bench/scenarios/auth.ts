import { loadConfig } from '@app/config';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

import { PasswordHasher } from '../../apps/api/src/users/password-hasher';

import { BenchUser, PASSWORD, registerUsers } from '../lib/api';
import { jsonRequest, LoadResult, runLoad } from '../lib/load';
import { Row, Scenario, ScenarioContext, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';
import { summarize } from '../lib/stats';

const CONNECTIONS = 64;
const LOGIN_CONNECTIONS = 4;
const USERS = 8;

type Target = 'me' | 'live';

function drive(
  ctx: ScenarioContext,
  server: BenchServer,
  users: BenchUser[],
  target: Target,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  return runLoad({
    label: connections === 1 ? `${target}-1` : target,
    baseUrl: server.url,
    connections,
    durationS: seconds,
    warmupMs: ctx.quick ? 300 : 1000,
    serverCpuMs: () => server.cpuMs(),
    token: () => '',
    request: (conn) =>
      target === 'me'
        ? jsonRequest('GET', '/api/v1/auth/me', users[conn % users.length].token)
        : jsonRequest('GET', '/health/live', undefined),
  });
}

/**
 * What bcrypt alone allows, done the server's way: its PasswordHasher (bcryptjs on a worker pool of
 * one thread per core), in the benchmark process, with every thread started before timing.
 */
async function bcryptBaseline(cost: number): Promise<{ perSecond: number; label: string }> {
  const threads = availableParallelism();
  const hasher = new PasswordHasher(
    loadConfig({
      JWT_SECRET: 'bench-'.repeat(6),
      BCRYPT_COST: String(cost),
      DATA_DIR: tempDir('bcrypt'),
    }),
  );
  try {
    const encoded = await hasher.hash(PASSWORD);
    const verifyAll = (count: number) =>
      Promise.all(Array.from({ length: count }, () => hasher.verify(PASSWORD, encoded)));
    await verifyAll(threads);
    const count = threads * 3;
    const t0 = performance.now();
    await verifyAll(count);
    const perSecond = (count * 1000) / (performance.now() - t0);
    return { perSecond, label: `bcryptjs verifies/s on the server's pool, ${threads} threads` };
  } finally {
    await hasher.onApplicationShutdown();
  }
}

/**
 * Scenario 5: GET /auth/me (JWT verification + the user lookup) against /health/live (no auth, no
 * database) at 64 connections and at 1, alternating; then login, bound by bcrypt at the default
 * cost, against what bcrypt alone allows on one core.
 */
export const authScenario: Scenario = {
  name: 'auth',
  title: 'Auth',
  async run(ctx): Promise<ScenarioOutput> {
    const server = await BenchServer.start(
      serverEnv(ctx.upstream.double.baseURL, tempDir('auth'), { BCRYPT_COST: '12' }),
    );
    try {
      ctx.log(`registering ${USERS} users at BCRYPT_COST 12`);
      const users = await registerUsers(server.url, 'auth', USERS);
      const rounds = ctx.quick ? 1 : 2;
      const seconds = ctx.quick ? 3 : 8;
      const runs: Record<string, LoadResult[]> = { me: [], live: [], me1: [], live1: [] };
      ctx.log('warming up: live and me, 2 s each');
      for (const target of ['live', 'me'] as const) {
        await drive(ctx, server, users, target, CONNECTIONS, 2);
      }
      for (let r = 0; r < rounds; r++) {
        for (const target of ['live', 'me'] as const) {
          ctx.log(
            `round ${r + 1}/${rounds}: ${target} at ${CONNECTIONS} connections, ${seconds} s`,
          );
          runs[target].push(await drive(ctx, server, users, target, CONNECTIONS, seconds));
        }
      }
      for (const target of ['live', 'me'] as const) {
        ctx.log(`${target} at 1 connection, ${seconds / 2} s`);
        runs[`${target}1`].push(await drive(ctx, server, users, target, 1, seconds / 2));
      }
      ctx.log(`login at ${LOGIN_CONNECTIONS} connections, ${seconds} s`);
      const login = await runLoad({
        label: 'login',
        baseUrl: server.url,
        connections: LOGIN_CONNECTIONS,
        durationS: seconds,
        timeoutS: 60,
        serverCpuMs: () => server.cpuMs(),
        token: () => '',
        request: (conn) =>
          jsonRequest('POST', '/api/v1/auth/login', undefined, {
            username: users[conn % users.length].username,
            password: PASSWORD,
          }),
      });
      const bcryptRate = await bcryptBaseline(12);

      const lat = (key: string) => summarize(runs[key].flatMap((r) => r.samples.map((s) => s.ms)));
      const rate = (key: string) =>
        runs[key].reduce((sum, r) => sum + r.perSecond, 0) / runs[key].length;
      const [me, live, me1, live1] = ['me', 'live', 'me1', 'live1'].map(lat);
      const loginLat = summarize(login.samples.map((s) => s.ms));
      const rows: Row[] = [
        {
          scenario: 'auth',
          metric: `/auth/me p99 at ${CONNECTIONS} connections`,
          value: round(me.p99, 2),
          unit: 'ms',
          baseline: { label: '/health/live p99', value: round(live.p99, 2) },
          ratio: round(me.p99 / live.p99, 2),
          target: '≤ 5 ms',
          pass: me.p99 <= 5,
          note: `p50 ${round(me.p50, 2)} ms (health ${round(live.p50, 2)} ms)`,
        },
        {
          scenario: 'auth',
          metric: `/auth/me req/s at ${CONNECTIONS} connections`,
          value: round(rate('me'), 0),
          unit: '/s',
          baseline: { label: '/health/live req/s', value: round(rate('live'), 0) },
          ratio: round(rate('me') / rate('live'), 2),
        },
        {
          scenario: 'auth',
          metric: '/auth/me p99 at 1 connection',
          value: round(me1.p99, 2),
          unit: 'ms',
          baseline: { label: '/health/live p99', value: round(live1.p99, 2) },
          ratio: round(me1.p99 / live1.p99, 2),
          note: `p50 ${round(me1.p50, 2)} ms (health ${round(live1.p50, 2)} ms)`,
        },
        {
          scenario: 'auth',
          metric: `login req/s (BCRYPT_COST 12, ${LOGIN_CONNECTIONS} connections)`,
          value: round(login.perSecond, 2),
          unit: '/s',
          baseline: { label: bcryptRate.label, value: round(bcryptRate.perSecond, 2) },
          ratio: round(login.perSecond / bcryptRate.perSecond, 2),
          note: `p50 ${round(loginLat.p50, 0)} ms; server CPU ${round(login.cpuMsPerRequest, 0)} ms/login`,
        },
      ];
      return {
        rows,
        details: {
          connections: CONNECTIONS,
          rounds,
          seconds,
          latency: { me, live, me1, live1, login: loginLat },
          perSecond: { me: rate('me'), live: rate('live'), login: login.perSecond },
          serverCpuMsPerRequest: {
            me: runs.me.map((r) => round(r.cpuMsPerRequest, 3)),
            live: runs.live.map((r) => round(r.cpuMsPerRequest, 3)),
            login: round(login.cpuMsPerRequest, 1),
          },
          statuses: { me: runs.me.map((r) => r.statuses), login: login.statuses },
          bcryptBaseline: bcryptRate,
        },
        notes: [
          "Login is bound by bcrypt: the baseline is what the server's PasswordHasher (bcryptjs " +
            'on a worker pool, one thread per core) does alone in the benchmark process at the same cost.',
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
