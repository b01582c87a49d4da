import Database from 'better-sqlite3';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { BenchUser, registerUsers } from '../lib/api';
import { sqliteJobCounts } from '../lib/databases';
import { phase } from '../lib/phases';
import { Row, Scenario, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';

const USERS = 50;
const SECONDS = 30;
/** Longest wait for the extraction backlog after the load; jobs left then count as unfinished. */
const DRAIN_LIMIT_S = 120;
/** RSS at the end of the run may be at most this much above RSS in its middle third. */
const RSS_GROWTH_LIMIT = 1.5;

/** Unique per user and turn, so that a turn stored twice shows; "I like" gives mem0 a fact. */
const soakMessage = (user: number, turn: number) =>
  `Turn ${turn} of user ${user}. I like topic ${turn % 7}.`;

interface Load {
  /** Answers by HTTP status; 0 counts requests that got no answer at all. */
  statuses: Record<string, number>;
  /** Turns each user had answered with 200, by user id. */
  answered: Map<string, number>;
  seconds: number;
}

/**
 * Scenario 7 (the e2e tier's former 30-second load test): 50 users chat back to back, each waiting
 * for its answer, for 30 s against the stub at 0 ms, with the default in-process extraction
 * workers on. What must hold under sustained load is checked and reported, and a check that fails
 * fails the run: no answer but 200, every answered turn stored exactly once (its question and its
 * reply), every extraction job completes, and the server's RSS levels off.
 */
export const soakScenario: Scenario = {
  name: 'soak',
  title: 'Soak: 50 users chatting with extraction on',
  async run(ctx): Promise<ScenarioOutput> {
    const seconds = ctx.quick ? 8 : SECONDS;
    const drainLimitS = ctx.quick ? 60 : DRAIN_LIMIT_S;
    const dataDir = tempDir('soak');
    ctx.upstream.reset();
    const server = await BenchServer.start(serverEnv(ctx.upstream.double.baseURL, dataDir));
    try {
      ctx.log(`registering ${USERS} users`);
      const users = await registerUsers(server.url, 'soak', USERS, { session: true });
      ctx.log(`${USERS} users chatting for ${seconds} s (workers on)`);
      const rss: number[] = [];
      const sampler = setInterval(() => rss.push(server.rssMb()), 1000);
      const load = await phase('soak', () => chatUntil(server.url, users, seconds)).finally(() =>
        clearInterval(sampler),
      );
      const turns = [...load.answered.values()].reduce((a, b) => a + b, 0);
      ctx.log(`${turns} turns answered; waiting for the extraction backlog (≤ ${drainLimitS} s)`);
      const drain = await waitForJobs(dataDir, drainLimitS);
      const misstored = misstoredUsers(dataDir, users, load.answered);

      const notOk = Object.entries(load.statuses).filter(([status]) => status !== '200');
      const refused = notOk.reduce((sum, [, n]) => sum + n, 0);
      const fiveXx = notOk.filter(([s]) => Number(s) >= 500).reduce((sum, [, n]) => sum + n, 0);
      const jobsLeft = drain.left.pending + drain.left.running + drain.left.failed;
      // The last third of the run against its middle third: growth that does not level off.
      const third = Math.floor(rss.length / 3);
      const middle = Math.max(...rss.slice(third, 2 * third));
      const last = Math.max(...rss.slice(2 * third));
      const growth = last / middle;

      const checks: [boolean, string][] = [
        [refused === 0, `${refused} answers other than 200: ${JSON.stringify(load.statuses)}`],
        [misstored.length === 0, `turns not stored exactly once: ${misstored.join('; ')}`],
        [jobsLeft === 0, `extraction jobs not completed: ${JSON.stringify(drain.left)}`],
        [
          growth <= RSS_GROWTH_LIMIT,
          `RSS kept growing: ${round(middle, 0)} MiB mid-run, ${round(last, 0)} MiB at the end`,
        ],
      ];
      const rows: Row[] = [
        {
          scenario: 'soak',
          metric: `turns/s (${USERS} users, workers on)`,
          value: round(turns / load.seconds),
          unit: '/s',
          note: `${turns} turns in ${round(load.seconds)} s`,
        },
        {
          scenario: 'soak',
          metric: 'answers other than 200',
          value: refused,
          unit: 'answers',
          target: '0 (no 5xx either)',
          pass: refused === 0,
          note: `${fiveXx} were 5xx; statuses ${JSON.stringify(load.statuses)}`,
        },
        {
          scenario: 'soak',
          metric: 'users whose turns are not stored exactly once',
          value: misstored.length,
          unit: 'users',
          target: '0',
          pass: misstored.length === 0,
          note: 'each answered turn: its question once and one reply',
        },
        {
          scenario: 'soak',
          metric: 'extraction jobs not completed',
          value: jobsLeft,
          unit: 'jobs',
          target: '0',
          pass: jobsLeft === 0,
          note: drain.drained
            ? `backlog of ${drain.backlog} drained ${round(drain.seconds)} s after the load`
            : `${JSON.stringify(drain.left)} after ${round(drain.seconds, 0)} s`,
        },
        {
          scenario: 'soak',
          metric: 'RSS, end of the run against its middle third',
          value: round(last, 0),
          unit: 'MiB',
          baseline: { label: 'middle third', value: round(middle, 0) },
          ratio: round(growth, 2),
          target: `≤ ${RSS_GROWTH_LIMIT}× (levels off)`,
          pass: growth <= RSS_GROWTH_LIMIT,
        },
      ];
      ctx.upstream.reset();
      return {
        rows,
        details: { users: USERS, seconds, turns, statuses: load.statuses, drain, rssMb: rss },
        notes: [
          `${USERS} users, each in its own session, send their next turn when the last is ` +
            'answered; the stub answers at once. Default configuration with the in-process ' +
            'workers on. Stored turns and jobs are read from the SQLite file; RSS is VmRSS of ' +
            'the server, sampled every second of the load.',
        ],
        failures: checks.filter(([ok]) => !ok).map(([, what]) => what),
      };
    } finally {
      await server.stop();
    }
  },
};

/** Every user sends a turn, waits for the answer, and sends the next, until `seconds` are up. */
async function chatUntil(baseUrl: string, users: BenchUser[], seconds: number): Promise<Load> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const statuses: Record<string, number> = {};
  const answered = new Map<string, number>();
  await Promise.all(
    users.map(async (user, i) => {
      let n = 0;
      while (performance.now() < deadline) {
        const status = await fetch(`${baseUrl}/api/v1/chat/${user.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
          body: JSON.stringify({ message: soakMessage(i, n), session_id: user.sessionId }),
        }).then(
          async (res) => (await res.arrayBuffer(), res.status),
          () => 0,
        );
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) n += 1;
      }
      answered.set(user.id, n);
    }),
  );
  return { statuses, answered, seconds: (performance.now() - started) / 1000 };
}

function openDb(dataDir: string): Database.Database {
  return new Database(join(dataDir, 'chatbot.sqlite'), { readonly: true, fileMustExist: true });
}

/** Waits until memory_jobs holds nothing pending or running, for at most `limitS`. */
async function waitForJobs(dataDir: string, limitS: number) {
  const count = () => sqliteJobCounts(dataDir);
  const started = performance.now();
  const first = count();
  let left = first;
  while (left.pending + left.running > 0 && performance.now() - started < limitS * 1000) {
    await new Promise((r) => setTimeout(r, 250));
    left = count();
  }
  return {
    backlog: first.pending + first.running,
    left,
    drained: left.pending + left.running === 0,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Users whose stored questions and replies do not match the turns they had answered, once each. */
function misstoredUsers(dataDir: string, users: BenchUser[], answered: Map<string, number>) {
  const db = openDb(dataDir);
  try {
    const rows = db
      .prepare(
        'SELECT user_id, role, COUNT(*) AS n, COUNT(DISTINCT content) AS distinct_n ' +
          'FROM messages GROUP BY user_id, role',
      )
      .all() as { user_id: string; role: string; n: number; distinct_n: number }[];
    const problems: string[] = [];
    for (const user of users) {
      const expected = answered.get(user.id) ?? 0;
      const of = (role: string) => rows.find((r) => r.user_id === user.id && r.role === role);
      const questions = of('user');
      const replies = of('assistant');
      const stored = {
        questions: questions?.n ?? 0,
        distinct: questions?.distinct_n ?? 0,
        replies: replies?.n ?? 0,
      };
      if (
        stored.questions !== expected ||
        stored.distinct !== expected ||
        stored.replies !== expected
      )
        problems.push(`${user.username}: ${expected} answered, stored ${JSON.stringify(stored)}`);
    }
    return problems;
  } finally {
    db.close();
  }
}
