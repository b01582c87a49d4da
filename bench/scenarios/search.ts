import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { skeleton } from '../../apps/api/src/users/identity';
import { call, login, PASSWORD } from '../lib/api';
import { jsonRequest, runLoad } from '../lib/load';
import { Row, Scenario, ScenarioContext, ScenarioOutput, round } from '../lib/scenario';
import { BenchServer, serverEnv, tempDir } from '../lib/server';
import { summarize, Summary } from '../lib/stats';
import { BenchDatabase, freshMariaDb } from '../lib/databases';
import { BenchStore, openMem0MemoryStore, openProjectStore, openSqlStore } from '../lib/stores';
import { center, memoryPayload, near, rng, userPhrase } from '../lib/vectors';

const PER_USER = 100;
const BATCH_USERS = 10;
/** mem0 asks its store for max(4 × limit, 60) candidates; the app's default limit is 5. */
const TOP_K = 60;

interface Scale {
  label: string;
  users: number;
  memory: BenchStore;
  project: BenchStore | null;
  /** The SQL store on MariaDB (BENCH_DATABASE_URL), when the server answers. */
  sql: BenchStore | null;
  seedMs: Record<string, number>;
  files: { memory: string; project: string };
}

/**
 * Scenario 3: search at 10k and 100k memories (100 per user, 1536 dimensions), the store alone for
 * mem0's `memory` store and the project's stores side by side (sqlite-vec, and the SQL store on a
 * fresh MariaDB database of BENCH_DATABASE_URL's server), then the SQL store with 1k and 5k
 * memories per user, then HTTP /memories/search on the store the server actually uses, with 1k
 * real users.
 */
export const searchScenario: Scenario = {
  name: 'search',
  title: 'Memory search at scale (1536 dims)',
  async run(ctx): Promise<ScenarioOutput> {
    const notes: string[] = [];
    const work = tempDir('search');
    const dataDir = join(work, 'data');
    const users = ctx.quick ? 100 : 1000;
    ctx.log(`setting up a server to create the schema and the first user`);
    const env = serverEnv(ctx.upstream.double.baseURL, dataDir);
    const setup = await BenchServer.start(env);
    await call(setup.url, 'POST', '/api/v1/auth/register', {
      username: 'seed-0',
      email: 'seed-0@bench.example',
      password: PASSWORD,
    });
    await setup.stop();
    const serverStore = existsSync(join(dataDir, 'mem0', 'vectors.db')) ? 'sqlite-vec' : 'memory';
    const serverStoreFile = join(
      dataDir,
      'mem0',
      serverStore === 'sqlite-vec' ? 'vectors.db' : 'vector_store.db',
    );
    ctx.log(`the server's vector store is ${serverStore}; adding ${users - 1} users`);
    const userIds = insertUsers(join(dataDir, 'chatbot.sqlite'), users);

    const maria = await freshMariaDb('search');
    if (maria.problem) notes.push(`No SQL store figures: ${maria.problem}`);
    const sqlUrl = maria.db
      ? await migrated(maria.db, ctx.upstream.double.baseURL, work)
      : undefined;

    // The largest scale lives in the server's own store file, so that HTTP searches it.
    const sizes = ctx.quick ? [100] : [100, 1000];
    const scales: Scale[] = [];
    for (const size of sizes) {
      const label = `${(size * PER_USER) / 1000}k`;
      const own = (kind: string) =>
        size === users && kind === serverStore
          ? serverStoreFile
          : join(work, `${kind}-${label}.db`);
      scales.push({
        label,
        users: size,
        memory: await openMem0MemoryStore(own('memory')),
        project: await openProjectStore(own('sqlite-vec')),
        sql: sqlUrl ? await openSqlStore(sqlUrl, `memories_${label}`) : null,
        seedMs: {},
        files: { memory: own('memory'), project: own('sqlite-vec') },
      });
    }
    if (!scales[0].project)
      notes.push(
        'The project store (sqlite-vec.store.ts) is not in this checkout: its figures are missing.',
      );
    const httpScale = scales[scales.length - 1];

    try {
      await seed(ctx, scales, userIds);
      const store: Record<string, Record<string, Summary>> = {};
      for (const scale of scales) {
        store[scale.label] = await timeStores(ctx, scale, userIds);
        scale.memory.close();
        scale.project?.close();
        scale.sql?.close();
      }
      const perUser = sqlUrl ? await timePerUser(ctx, sqlUrl, userIds) : {};
      const http = await timeHttp(ctx, env, userIds, httpScale.users, serverStore);
      const sizes = Object.fromEntries(
        scales.map((s) => [
          s.label,
          { memory: fileMb(s.files.memory), project: fileMb(s.files.project) },
        ]),
      );
      const rows = [
        ...storeRows(store, scales),
        ...sqlRows(store, scales, perUser),
        sizeRow(httpScale, sizes[httpScale.label]),
        ...httpRows(http, httpScale.label, serverStore),
      ];
      notes.push(
        `mem0's memory store reads and parses every row per search: ${ctx.quick ? 2 : 3} samples at ` +
          `100k, 10 at 10k; the project store ${ctx.quick ? 100 : 300} per scale. Store calls: ` +
          `search(query, ${TOP_K}, { user_id }), as mem0 calls it for limit 5.`,
        `Users: one registered through the API, the others inserted as rows copying its password ` +
          `hash (${users} in all, each with ${PER_USER} memories), so every user_id is a real user.`,
      );
      return {
        rows,
        details: {
          serverStore,
          perUser: PER_USER,
          topK: TOP_K,
          seedMs: Object.fromEntries(scales.map((s) => [s.label, s.seedMs])),
          fileMb: sizes,
          store,
          sqlPerUser: perUser,
          http,
        },
        notes,
      };
    } finally {
      for (const scale of scales) {
        scale.memory.close();
        scale.project?.close();
        scale.sql?.close();
      }
      await maria.db?.drop();
      ctx.upstream.reset();
    }
  },
};

/** Copies the registered user's row (and so its password hash) for every other seeded user. */
function insertUsers(dbPath: string, count: number): string[] {
  const db = new Database(dbPath);
  try {
    const template = db.prepare('SELECT * FROM users WHERE username = ?').get('seed-0') as Record<
      string,
      unknown
    >;
    const columns = Object.keys(template);
    const insert = db.prepare(
      `INSERT INTO users (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    );
    const ids = [template.id as string];
    db.transaction(() => {
      for (let i = 1; i < count; i++) {
        const row: Record<string, unknown> = {
          ...template,
          id: randomUUID(),
          username: `seed-${i}`,
          username_key: skeleton(`seed-${i}`),
          email: `seed-${i}@bench.example`,
        };
        insert.run(...columns.map((c) => row[c]));
        ids.push(row.id as string);
      }
    })();
    return ids;
  } finally {
    db.close();
  }
}

async function seed(ctx: ScenarioContext, scales: Scale[], userIds: string[]): Promise<void> {
  const largest = Math.max(...scales.map((s) => s.users));
  const random = rng(42);
  const stores = scales.flatMap((s) => [s.memory, s.project, s.sql]).filter(Boolean).length;
  ctx.log(`seeding ${largest * PER_USER} memories into ${stores} stores`);
  for (let first = 0; first < largest; first += BATCH_USERS) {
    const vectors: number[][] = [];
    const ids: string[] = [];
    const payloads: Record<string, unknown>[] = [];
    for (let u = first; u < Math.min(largest, first + BATCH_USERS); u++) {
      const c = center(u);
      for (let k = 0; k < PER_USER; k++) {
        vectors.push(near(c, random));
        ids.push(randomUUID());
        payloads.push(memoryPayload(userIds[u], u, k, random));
      }
    }
    for (const scale of scales) {
      if (first >= scale.users) continue;
      for (const store of [scale.memory, scale.project, scale.sql]) {
        if (!store) continue;
        const t0 = performance.now();
        await store.insert(vectors, ids, payloads);
        scale.seedMs[store.label] = (scale.seedMs[store.label] ?? 0) + performance.now() - t0;
      }
    }
    if ((first + BATCH_USERS) % 200 === 0) ctx.log(`  ${(first + BATCH_USERS) * PER_USER} seeded`);
  }
}

async function timeStores(ctx: ScenarioContext, scale: Scale, userIds: string[]) {
  const random = rng(7);
  const result: Record<string, Summary> = {};
  const slowSamples = scale.users >= 1000 ? (ctx.quick ? 2 : 3) : 10;
  const fastSamples = ctx.quick ? 100 : 300;
  for (const store of [scale.project, scale.sql, scale.memory]) {
    if (!store) continue;
    const samples = store === scale.memory ? slowSamples : fastSamples;
    ctx.log(`  ${store.label} @${scale.label}: ${samples} searches`);
    const times: number[] = [];
    const keyword: number[] = [];
    for (let i = -3; i < samples; i++) {
      if (i < 0 && store === scale.memory) continue; // seconds each: no warm-up rounds
      const u = Math.floor(random() * scale.users);
      const query = near(center(u), random, 0.8);
      const filters = { user_id: userIds[u] };
      const t0 = performance.now();
      await store.search(query, TOP_K, filters);
      const t1 = performance.now();
      if (store !== scale.memory || i < 1)
        await store.keywordSearch(`${userPhrase(u)} coffee`, TOP_K, filters);
      const t2 = performance.now();
      if (i < 0) continue;
      times.push(t1 - t0);
      if (store !== scale.memory || i < 1) keyword.push(t2 - t1);
    }
    result[store.label] = summarize(times);
    result[`${store.label} keywordSearch`] = summarize(keyword);
  }
  return result;
}

interface HttpFigures {
  total: Summary;
  embedding: Summary;
  minusEmbedding: Summary;
  withResults: number;
  requests: number;
  statuses: Record<string, number>;
}

async function timeHttp(
  ctx: ScenarioContext,
  env: Record<string, string>,
  userIds: string[],
  users: number,
  serverStore: string,
): Promise<HttpFigures> {
  const server = await BenchServer.start(env);
  try {
    const logins = Math.min(16, users);
    const tokens: { id: string; u: number; token: string }[] = [];
    for (let i = 0; i < logins; i++) {
      const u = Math.floor((i * users) / logins);
      tokens.push({
        id: userIds[u],
        u,
        token: (await login(server.url, `seed-${u}`)).access_token,
      });
    }
    const slow = serverStore !== 'sqlite-vec' && users >= 1000;
    const warm = slow ? 0 : 20;
    const amount = slow ? 3 : ctx.quick ? 100 : 400;
    ctx.log(`HTTP search on the server's ${serverStore} store: ${amount} requests, one at a time`);
    let n = 0;
    const result = await runLoad({
      label: 'http-search',
      baseUrl: server.url,
      connections: 1,
      amount: warm + amount,
      timeoutS: 300,
      keepBodies: true,
      token: () => ctx.upstream.token(),
      request: (_conn, token) => {
        const who = tokens[n++ % tokens.length];
        return jsonRequest('POST', '/api/v1/memories/search', who.token, {
          query: `${userPhrase(who.u)} ${token}`,
          limit: 5,
        });
      },
    });
    const samples = result.samples.slice(warm);
    const total: number[] = [];
    const embedding: number[] = [];
    let withResults = 0;
    for (const s of samples) {
      const t = ctx.upstream.take(s.token);
      if (s.status !== 200 || !t) continue;
      total.push(s.ms);
      embedding.push(t.embeddingMs);
      const body = JSON.parse(s.body ?? '{}') as { results?: unknown[] };
      if ((body.results?.length ?? 0) > 0) withResults++;
    }
    return {
      total: summarize(total),
      embedding: summarize(embedding),
      minusEmbedding: summarize(total.map((x, i) => x - embedding[i])),
      withResults,
      requests: samples.length,
      statuses: result.statuses,
    };
  } finally {
    await server.stop();
  }
}

const ms = (x: number) => round(x, x < 10 ? 2 : 1);

function storeRows(store: Record<string, Record<string, Summary>>, scales: Scale[]): Row[] {
  const rows: Row[] = [];
  for (const scale of scales) {
    const mem = store[scale.label]['mem0 memory'];
    const vec = store[scale.label]['sqlite-vec'];
    for (const p of ['p50', 'p95'] as const) {
      const speedup = mem[p] / vec?.[p];
      const gated = scale.label === '100k' && p === 'p95';
      rows.push({
        scenario: 'search',
        metric: `store search ${p} @${scale.label} (${scale.users} users)`,
        value: vec ? ms(vec[p]) : NaN,
        unit: 'ms',
        baseline: { label: 'mem0 memory store', value: ms(mem[p]) },
        ratio: round(speedup, 0),
        ratioText: vec ? `${round(speedup, 0)}× faster` : 'n/a',
        ...(gated
          ? {
              target: '≤ 5 ms and ≥ 100× faster',
              pass: vec ? vec[p] <= 5 && speedup >= 100 : false,
            }
          : {}),
      });
    }
  }
  return rows;
}

/** A SQLite file's size with its WAL, in MiB (NaN when absent). */
function fileMb(path: string): number {
  if (!existsSync(path)) return NaN;
  const wal = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
  return (statSync(path).size + wal) / 2 ** 20;
}

function sizeRow(scale: Scale, size: { memory: number; project: number }): Row {
  return {
    scenario: 'search',
    metric: `store file size @${scale.label} (${scale.users} users)`,
    value: round(size.project, 0),
    unit: 'MiB',
    baseline: { label: 'mem0 memory store', value: round(size.memory, 0) },
    ratio: round(size.project / size.memory, 2),
    note: `seeding took ${round((scale.seedMs['sqlite-vec'] ?? NaN) / 1000)} s (mem0 memory ${round(scale.seedMs['mem0 memory'] / 1000)} s)`,
  };
}

function httpRows(http: HttpFigures, scale: string, serverStore: string): Row[] {
  return [
    {
      scenario: 'search',
      metric: `HTTP /memories/search p50 @${scale} (${serverStore})`,
      value: ms(http.total.p50),
      unit: 'ms',
      note: `embedding call p50 ${ms(http.embedding.p50)} ms; ${http.withResults}/${http.requests} answers had results`,
    },
    {
      scenario: 'search',
      metric: `HTTP /memories/search p95 − embedding @${scale}`,
      value: ms(http.minusEmbedding.p95),
      unit: 'ms',
      baseline: { label: 'HTTP p95 total', value: ms(http.total.p95) },
      target: '≤ 10 ms',
      pass: http.minusEmbedding.p95 <= 10,
    },
  ];
}

/** The MariaDB database with the app's tables, made by a server started on it once. */
async function migrated(db: BenchDatabase, baseUrl: string, work: string): Promise<string> {
  const env = db.env(join(work, 'sql-data'));
  const server = await BenchServer.start({
    ...serverEnv(baseUrl, join(work, 'sql-data')),
    ...env,
  });
  await server.stop();
  return env.DATABASE_URL;
}

/** Memories per user where the SQL store is timed beyond the 100 of the main scales. */
const PER_USER_SIZES = [1000, 5000];
const PER_USER_USERS = 3;

/**
 * The SQL store reads all of one user's vectors per search: how that grows with the user's
 * memories (a few users, each with 1k or 5k), to say where it stops being enough.
 */
async function timePerUser(
  ctx: ScenarioContext,
  url: string,
  userIds: string[],
): Promise<Record<string, Summary>> {
  const result: Record<string, Summary> = {};
  const random = rng(11);
  for (const perUser of ctx.quick ? PER_USER_SIZES.slice(0, 1) : PER_USER_SIZES) {
    const store = await openSqlStore(url, `memories_per_user_${perUser}`);
    if (!store) return result;
    ctx.log(`  sql with ${perUser} memories per user: seeding ${PER_USER_USERS} users`);
    for (let u = 0; u < PER_USER_USERS; u++) {
      for (let first = 0; first < perUser; first += 500) {
        const count = Math.min(500, perUser - first);
        const c = center(u);
        await store.insert(
          Array.from({ length: count }, () => near(c, random)),
          Array.from({ length: count }, () => randomUUID()),
          Array.from({ length: count }, (_, k) => memoryPayload(userIds[u], u, first + k, random)),
        );
      }
    }
    const times: number[] = [];
    const keyword: number[] = [];
    for (let i = -3; i < (ctx.quick ? 30 : 100); i++) {
      const u = Math.abs(i) % PER_USER_USERS;
      const filters = { user_id: userIds[u] };
      const t0 = performance.now();
      await store.search(near(center(u), random, 0.8), TOP_K, filters);
      const t1 = performance.now();
      await store.keywordSearch(`${userPhrase(u)} coffee`, TOP_K, filters);
      if (i < 0) continue;
      times.push(t1 - t0);
      keyword.push(performance.now() - t1);
    }
    result[`${perUser}`] = summarize(times);
    result[`${perUser} keywordSearch`] = summarize(keyword);
    store.close();
  }
  return result;
}

function sqlRows(
  store: Record<string, Record<string, Summary>>,
  scales: Scale[],
  perUser: Record<string, Summary>,
): Row[] {
  const rows: Row[] = [];
  for (const scale of scales) {
    const sql = store[scale.label].sql;
    const keyword = store[scale.label]['sql keywordSearch'];
    if (!sql) continue;
    rows.push({
      scenario: 'search',
      metric: `sql store search p95 @${scale.label} (${scale.users} users, MariaDB)`,
      value: ms(sql.p95),
      unit: 'ms',
      baseline: { label: 'sqlite-vec', value: ms(store[scale.label]['sqlite-vec']?.p95) },
      target: '≤ 10 ms',
      pass: sql.p95 <= 10,
      note: `p50 ${ms(sql.p50)} ms; keywordSearch p50 ${ms(keyword.p50)} / p95 ${ms(keyword.p95)} ms`,
    });
  }
  for (const [size, summary] of Object.entries(perUser)) {
    if (size.endsWith('keywordSearch')) continue;
    const keyword = perUser[`${size} keywordSearch`];
    rows.push({
      scenario: 'search',
      metric: `sql store search p95 with ${size} memories per user (MariaDB)`,
      value: ms(summary.p95),
      unit: 'ms',
      note: `p50 ${ms(summary.p50)} ms; keywordSearch p50 ${ms(keyword.p50)} / p95 ${ms(keyword.p95)} ms`,
    });
  }
  return rows;
}
