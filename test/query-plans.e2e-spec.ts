import { createHash, randomUUID } from 'node:crypto';
import { DataSource, Logger, ObjectLiteral, QueryRunner } from 'typeorm';

import { ApiKeysService } from '../apps/api/src/api-keys/api-keys.service';
import { TEST_DATABASES } from './support/databases';
import { bearer, eventually, login, registerUser } from './support/test-app';
import { AppFixture, useApp } from './support/use-app';

/** The columns of MariaDB's (and MySQL's) EXPLAIN that the checks read. */
type PlanRow = Record<'table' | 'type' | 'key' | 'Extra', string | null>;

interface Checked {
  sql: string;
  plan: PlanRow[];
  problems: string[];
}

/** Every table of the app is one that grows with its users. */
const appTables = (ds: DataSource) => ds.entityMetadatas.map((m) => m.tableName);

async function insertRows(ds: DataSource, table: string, rows: ObjectLiteral[]): Promise<void> {
  const columns = Object.keys(rows[0]);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    await ds.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`,
      chunk.flatMap((row) => columns.map((c) => row[c] as unknown)),
    );
  }
}

/**
 * Other users' data at a plausible scale: 2,500 users (below about 2,000 the planner rightly
 * prefers to sort the whole users table), 6,000 sessions (a few users own many), about 40,000
 * messages, 4,000 extraction jobs (failed, retries due later, a few running), 4,000 revoked
 * tokens and 500 unfinished deletions. Nothing of it is due, so the workers leave it alone. The
 * values are random: the shape of the data, not its values, decides the plans.
 */
async function seedOtherUsers(ds: DataSource): Promise<void> {
  const now = Date.now();
  // Up to `hours` from now (negative: ago), never within 10 minutes of now.
  const at = (hours: number) =>
    new Date(now + Math.sign(hours) * 600_000 + Math.floor(Math.random() * hours * 3_600_000));
  const users = Array.from({ length: 2500 }, (_, i) => ({
    id: randomUUID(),
    username: `seed_${i}`,
    username_key: `seed${i}`,
    email: `seed_${i}@example.com`,
    password_hash: `$2b$10$${'x'.repeat(53)}`,
    role: i % 500 === 0 ? 'admin' : 'user',
    token_version: i % 3,
    disabled: i % 100 === 0 ? 1 : 0,
    created_at: at(-24 * 365),
    updated_at: new Date(now - 3_600_000),
  }));
  const sessions = Array.from({ length: 6000 }, (_, i) => {
    const created = at(-24 * 90);
    const user = users[Math.floor(Math.random() ** 2 * users.length)];
    return { id: randomUUID(), user_id: user.id, title: `Chat ${i}`, created_at: created };
  });
  const messages = sessions.flatMap((s) => {
    const count = 2 + Math.floor(Math.random() * 12);
    Object.assign(s, { updated_at: new Date(s.created_at.getTime() + (count - 1) * 30_000) });
    return Array.from({ length: count }, (_, i) => ({
      id: randomUUID(),
      session_id: s.id,
      user_id: s.user_id,
      role: i % 2 ? 'assistant' : 'user',
      content: `${i % 2 ? 'Echo: ' : ''}message ${i} of ${s.title}. `.repeat(4),
      model: i % 2 ? 'gpt-4o-mini' : null,
      prompt_tokens: i % 2 ? 100 + i * 40 : null,
      completion_tokens: i % 2 ? 40 : null,
      latency_ms: i % 2 ? 800 : null,
      created_at: new Date(s.created_at.getTime() + i * 30_000),
    }));
  });
  const jobs = Array.from({ length: 4000 }, (_, i) => {
    const m = messages[Math.floor(Math.random() * messages.length)];
    const running = i < 20; // at most one running job per user
    const status = running ? 'running' : i % 5 ? 'failed' : 'pending';
    return {
      id: randomUUID(),
      user_id: running ? users[i].id : m.user_id,
      session_id: m.session_id,
      message_id: m.id,
      reply_id: randomUUID(),
      status,
      attempts: status === 'failed' ? 5 : 1,
      run_at: status === 'pending' ? at(2) : m.created_at,
      lease_until: running ? at(1) : null,
      locked_by: running ? 'other-host:1:0f3a9c1e' : null,
      running_user_id: running ? users[i].id : null,
      last_error: running ? null : 'The embedding service failed; try again',
      created_at: m.created_at,
      updated_at: m.created_at,
    };
  });
  const tokens = Array.from({ length: 4000 }, (_, i) => ({
    jti: randomUUID(),
    user_id: users[i % users.length].id,
    expires_at: at(24),
  }));
  const deletions = Array.from({ length: 500 }, (_, i) => ({
    id: randomUUID(),
    user_id: randomUUID(),
    status: i % 4 ? 'failed' : 'pending',
    attempts: 3,
    last_error: 'The memory store is unavailable; try again',
    run_at: i % 4 ? at(-24 * 30) : at(1),
    created_at: at(-24 * 30),
    updated_at: new Date(now),
  }));
  const keys = Array.from({ length: 3000 }, (_, i) => ({
    id: randomUUID(),
    user_id: users[i % users.length].id,
    name: `Key ${i}`,
    prefix: `cbk_${i}`,
    key_hash: createHash('sha256').update(`seed key ${i}`).digest('hex'),
    token_version: users[i % users.length].token_version,
    created_at: at(-24 * 90),
    last_used_at: i % 2 ? at(-24) : null,
    expires_at: i % 3 ? null : at(24 * 30),
  }));
  const tables = { users, chat_sessions: sessions, messages, memory_jobs: jobs };
  for (const [table, rows] of Object.entries(tables)) await insertRows(ds, table, rows);
  await insertRows(ds, 'revoked_tokens', tokens);
  await insertRows(ds, 'user_deletions', deletions);
  await insertRows(ds, 'api_keys', keys);
  await ds.query(`ANALYZE TABLE ${appTables(ds).join(', ')}`);
}

/**
 * Runs `operations` with the DataSource's logger wrapped: every statement it is handed (with the
 * first parameters seen) is kept, then passed on to the original logger.
 */
async function recordStatements(ds: DataSource, operations: () => Promise<void>) {
  const original = ds.logger;
  const statements = new Map<string, unknown[]>();
  ds.logger = Object.assign(Object.create(original) as Logger, {
    logQuery(query: string, parameters?: unknown[] | ObjectLiteral, runner?: QueryRunner): unknown {
      if (!statements.has(query))
        statements.set(query, Array.isArray(parameters) ? parameters : []);
      return original.logQuery(query, parameters, runner);
    },
  });
  try {
    await operations();
  } finally {
    ds.logger = original;
  }
  return statements;
}

const EXPLAINABLE = /^\s*(SELECT|UPDATE|DELETE)\b/i;
const SKIPPED = /`migrations`|^\s*SELECT\s+(VERSION|DATABASE)\(\)/i;

/** The plan of one statement and what is wrong with it. */
async function check(ds: DataSource, sql: string, parameters: unknown[]): Promise<Checked> {
  const plan = await ds.query<PlanRow[]>(`EXPLAIN ${sql}`, parameters);
  // EXPLAIN names tables by their alias: FROM `memory_jobs` `job` means job is memory_jobs.
  const tables = new Map<string, string>();
  for (const [, table, alias] of sql.matchAll(/(?:FROM|JOIN|UPDATE)\s+`(\w+)`(?:\s+`(\w+)`)?/gi))
    tables.set(alias ?? table, table);
  const orderedPage = /\bORDER BY\b[\s\S]*\bLIMIT\b/i.test(sql);
  const problems = plan.flatMap((row) => {
    const table = tables.get(row.table ?? '') ?? row.table ?? '';
    if (!appTables(ds).includes(table)) return [];
    const found: string[] = [];
    if (row.type === 'ALL') found.push(`full scan of ${table}`);
    if (orderedPage && /filesort/i.test(row.Extra ?? '')) found.push(`filesort on ${table}`);
    return found;
  });
  return { sql, plan, problems };
}

const verdict = (c: Checked) =>
  `${c.problems.join(', ') || 'ok'}\n  ${c.sql}\n  ${JSON.stringify(c.plan)}`;

/** Statements each hot operation must have issued (and which must then be served by an index). */
const HOT_STATEMENTS: [string, RegExp][] = [
  ['register, login: the user by name or email', /FROM `users`.*`username` = \?.*`email` = \?/],
  ['every request: the token is not revoked', /FROM `revoked_tokens` WHERE `jti` = \?/],
  ['every request: the token holder by id', /AS `revoked` FROM `users` WHERE `id` = \?$/],
  ['a turn in a session: the owned session', /FROM `chat_sessions`.*`id` = \?.*`user_id` = \?/],
  ["a turn: the session's activity time", /^UPDATE `chat_sessions` SET `updated_at`/],
  ['a turn: the history window', /FROM `messages`.*`session_id` = \?.*ORDER BY.*DESC.*LIMIT/],
  ['session list: the page', /FROM `chat_sessions`.*`user_id` = \?.*ORDER BY.*LIMIT/],
  ['session list: message counts', /FROM `messages`.*`session_id` IN .*GROUP BY/],
  ["a session's messages: the page", /FROM `messages`.*`session_id` = \?.*ORDER BY.*ASC.*LIMIT/],
  ['worker: expired leases', /FROM `memory_jobs`.*`lease_until` < \?/],
  ['worker: due jobs, locked', /FROM `memory_jobs`.*FOR UPDATE SKIP LOCKED/],
  ['worker: users with a running job', /FROM `memory_jobs`.*`status` = \?.*`user_id` IN/],
  ['worker: the claim', /^UPDATE `memory_jobs` SET `status`/],
  [
    "worker: the session's other due jobs",
    /FROM `memory_jobs`.*`session_id` = \?.*ORDER BY.*LIMIT/,
  ],
  ["worker: the turn's messages", /FROM `messages`.*`id` IN/],
  ['worker: the finished job leaves the queue', /^DELETE FROM `memory_jobs`/],
  ["the caller's extraction jobs", /FROM `memory_jobs`.*WHERE \(\(`MemoryJob`.`user_id` = \?\)\)/],
  ['deletion worker: due deletions', /FROM `user_deletions`.*`run_at` <= \?/],
  ['admin user list: the page', /FROM `users`.*ORDER BY.*LIMIT/],
  ['admin user list: sessions per user', /FROM `chat_sessions`.*`user_id` IN .*GROUP BY/],
  ['admin user list: messages per user', /FROM `messages`.*`user_id` IN .*GROUP BY/],
  ['a request with an API key: the key and its owner', /FROM `api_keys` `k` INNER JOIN `users`/],
  ["an API key's last use", /^UPDATE `api_keys` SET `last_used_at`/],
  ['API key creation: the user row, locked', /FROM `users` WHERE `id` = \? FOR UPDATE$/],
  ["API key creation: the user's keys counted", /COUNT.*FROM `api_keys`.*`user_id` = \?/],
  ["the caller's API keys", /FROM `api_keys`.*`user_id` = \?.*ORDER BY/],
  ['API key revoke', /^DELETE FROM `api_keys` WHERE/],
];

const server = TEST_DATABASES.find((d) => d.url);

/**
 * Every SELECT, UPDATE and DELETE the hot paths issue, EXPLAINed on the database server among
 * other users' data: none may read a whole table, and no page (ORDER BY … LIMIT) may be sorted
 * after reading when an index can give the order. Only with TEST_DATABASE_URL; SQLite's planner
 * is checked below for the page order only.
 */
(server ? describe : describe.skip)(`query plans on ${server?.name ?? 'a server'}`, () => {
  const t = useApp(server ?? { name: 'none' }, { double: true, admin: true });
  const checked: Checked[] = [];

  beforeAll(async () => {
    const ds = t.app.get(DataSource);
    await seedOtherUsers(ds);
    const statements = await recordStatements(ds, () => hotOperations(t));
    for (const [sql, parameters] of statements) {
      if (EXPLAINABLE.test(sql) && !SKIPPED.test(sql))
        checked.push(await check(ds, sql, parameters));
    }
  });

  it.each(HOT_STATEMENTS)('%s: issued, and served by an index', (_, pattern) => {
    const matching = checked.filter((c) => pattern.test(c.sql));
    expect(matching.length).toBeGreaterThan(0);
    expect(matching.filter((c) => c.problems.length > 0).map(verdict)).toEqual([]);
  });

  it('serves every other recorded statement from an index too', () => {
    expect(checked.length).toBeGreaterThanOrEqual(HOT_STATEMENTS.length);
    expect(checked.filter((c) => c.problems.length > 0).map(verdict)).toEqual([]);
  });
});

/** Register, log in, me, two turns, lists, the worker's claims, the admin user list, logout. */
async function hotOperations(t: AppFixture): Promise<void> {
  const user = await registerUser(t, 'plans');
  const auth = bearer(user.token);
  await t.http().get('/api/v1/auth/me').set(auth).expect(200);
  const chat = `/api/v1/chat/${user.id}`;
  const first = await t.http().post(chat).set(auth).send({ message: 'I live in Lisbon.' });
  expect([first.status, first.body]).toEqual([200, expect.anything()]);
  const session = first.body.session_id as string;
  await t.http().post(chat).set(auth).send({ message: 'Hi', session_id: session }).expect(200);
  await t.http().get(`${chat}/sessions`).set(auth).expect(200);
  await t.http().get(`${chat}/sessions/${session}/messages`).set(auth).expect(200);
  await eventually(async () => {
    const jobs = await t.http().get('/api/v1/memories/jobs').set(auth).expect(200);
    return (jobs.body.items as unknown[]).length === 0;
  }, 'the worker to finish the turns’ extraction jobs');
  // A personal API key: made, listed, used (as the guard of a /v1 route would), revoked.
  const keys = '/api/v1/auth/api-keys';
  const created = await t.http().post(keys).set(auth).send({ name: 'plans' }).expect(201);
  await t.http().get(keys).set(auth).expect(200);
  const holder = await t.app.get(ApiKeysService).authenticate(created.body.key as string);
  expect(holder?.apiKeyId).toBe(created.body.id);
  await eventually(async () => {
    const list = await t.http().get(keys).set(auth).expect(200);
    return list.body.items[0].last_used_at !== null;
  }, "the key's last use to be recorded");
  await t.http().delete(`${keys}/${created.body.id}`).set(auth).expect(204);
  const admin = await login(t, t.admin.username, t.admin.password);
  await t.http().get('/api/v1/admin/users').set(bearer(admin)).expect(200);
  await t.http().post('/api/v1/auth/logout').set(auth).expect(204);
  await t.http().get('/api/v1/auth/me').set(auth).expect(401);
}

/**
 * SQLite, the embedded default, has a planner of its own and does not append the primary key to
 * its indexes: every page the hot paths read (ORDER BY … LIMIT) must come out of an index in
 * order, not from a sort of everything that matched (for a turn's history window that would be
 * the whole session).
 */
describe('query plans on sqlite', () => {
  const t = useApp({ name: 'sqlite' }, { double: true, admin: true });
  let pages: { sql: string; plan: string[] }[] = [];

  beforeAll(async () => {
    const ds = t.app.get(DataSource);
    const statements = await recordStatements(ds, () => hotOperations(t));
    pages = [];
    for (const [sql, parameters] of statements) {
      if (!/^\s*SELECT\b[\s\S]*\bORDER BY\b[\s\S]*\bLIMIT\b/i.test(sql)) continue;
      const plan = await ds.query<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${sql}`, parameters);
      pages.push({ sql, plan: plan.map((row) => row.detail) });
    }
  });

  it.each([
    ['a turn: the history window', /FROM "messages".*"session_id" = \?.*ORDER BY.*DESC.*LIMIT/],
    ["a session's messages: the page", /FROM "messages".*"session_id" = \?.*ORDER BY.*ASC.*LIMIT/],
    ['session list: the page', /FROM "chat_sessions".*"user_id" = \?.*ORDER BY.*LIMIT/],
  ])('%s: issued', (_, pattern) => {
    expect(pages.filter((p) => pattern.test(p.sql)).length).toBeGreaterThan(0);
  });

  it('reads every page in index order, with no sort of its own', () => {
    const sorted = pages.filter((p) => p.plan.some((d) => /TEMP B-TREE FOR .*ORDER BY/.test(d)));
    expect(sorted.map((p) => `${p.plan.join('; ')}\n  ${p.sql}`)).toEqual([]);
  });
});
