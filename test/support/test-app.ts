import { ERROR_CODES } from '@app/common';
import { AppConfig, Env, loadConfig } from '@app/config';
import { MemoryJob } from '@app/database';
import { MemoryJobWorker } from '@app/memory-jobs/memory-job.worker';
import { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { DataSource, In } from 'typeorm';

import { createApp } from '../../apps/api/src/create-app';
import { chatBody, registration } from './builders';
import { TestDatabase } from './databases';

/**
 * The bound a hostile request's answer (or a probe beside it) must stay under: a guard against a
 * hang or seconds of CPU on the event loop, wide enough for a loaded CI machine. Speed targets
 * live in the benchmark, not here.
 */
export const HANG_GUARD_MS = 5000;

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'chatbot-e2e-'));
}

/**
 * The environment a test app gets: quiet, fast bcrypt, its own DATA_DIR and database, and no abuse
 * limits (a suite that tests them switches them on).
 */
export function testEnv(db: TestDatabase, overrides: Env = {}): Env {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BCRYPT_COST: '10',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: newDataDir(),
    THROTTLE_LOGIN_FAILURES: '0',
    THROTTLE_REGISTER_PER_HOUR: '0',
    THROTTLE_CHAT_PER_MINUTE: '0',
    THROTTLE_LOGIN_PER_HOUR: '0',
    THROTTLE_MEMORY_PER_MINUTE: '0',
    THROTTLE_SESSIONS_PER_HOUR: '0',
    SUMMARY_MIN_INTERVAL_SECONDS: '0',
    ...(db.url ? { DATABASE_URL: db.url } : {}),
    ...overrides,
  };
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  http: () => TestAgent;
  close: () => Promise<void>;
}

/**
 * Starts the real application (same module, pipes, filters and body parser as production) on a
 * real database. `fresh` drops every table first, so a shared MariaDB starts from nothing;
 * `logDestination` receives the app's log lines (give LOG_LEVEL too: tests default to silent).
 */
export async function startApp(
  env: Env,
  options: { fresh?: boolean; logDestination?: DestinationStream } = {},
): Promise<TestApp> {
  const loaded = loadConfig(env);
  const config = AppConfig.of({
    ...loaded,
    database: { ...loaded.database, dropSchema: options.fresh ?? true },
  });
  const app = await createApp(config, { logDestination: options.logDestination });
  // A start-up that fails (the admin bootstrap refusing, say) must not leave its connections open.
  await app.init().catch(async (error: unknown) => {
    await app.close().catch(() => undefined);
    throw error;
  });
  // Fastify loads its plugins and routes when ready; only then does its server answer requests.
  await (app.getHttpAdapter().getInstance() as FastifyInstance).ready();
  const server = app.getHttpServer() as Server;
  const { leaks, codeless } = watchResponses(server);
  return {
    app,
    // Without dropSchema: code handed this config (the CLI) must not wipe the database again.
    config: loaded,
    http: () => request(server),
    close: async () => {
      await app.close();
      if (leaks.length > 0)
        throw new Error(`Responses showed a password hash: ${leaks.join(', ')}`);
      if (codeless.length > 0)
        throw new Error(`Error answers without a documented code: ${codeless.join(', ')}`);
    },
  };
}

const SECRET_IN_RESPONSE = /\$2[aby]\$\d\d\$/;

/**
 * Every response any test sees is checked: for a password hash, and, when it answers an error,
 * for a `code` from ErrorCode (the enum the API document lists). The app fails its close() if
 * one ever went wrong, whichever test made the request.
 */
function watchResponses(server: Server): { leaks: string[]; codeless: string[] } {
  const leaks: string[] = [];
  const codeless: string[] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown) => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      if (SECRET_IN_RESPONSE.test(text)) leaks.push(`${req.method} ${req.url}`);
      if (res.statusCode >= 400 && req.method !== 'HEAD' && !hasErrorCode(text)) {
        codeless.push(`${req.method} ${req.url} ${res.statusCode} ${text.slice(0, 200)}`);
      }
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
  });
  return { leaks, codeless };
}

/** A `code` from ErrorCode, at the top (the REST API) or in OpenAI's `error` object (`/v1`). */
function hasErrorCode(text: string): boolean {
  try {
    const body = JSON.parse(text) as { code?: unknown; error?: { code?: unknown } };
    const code = body.code ?? body.error?.code;
    return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
  } catch {
    return false;
  }
}

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
}

/** Registers a new user with a unique name and logs them in. */
export async function registerUser(t: TestApp, prefix = 'user'): Promise<TestUser> {
  const body = registration(prefix);
  const reg = await t.http().post('/api/v1/auth/register').send(body);
  if (reg.status !== 201)
    throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const token = await login(t, body.username, body.password);
  return { id: reg.body.id as string, ...body, token };
}

export async function login(t: TestApp, username: string, password: string): Promise<string> {
  const res = await t.http().post('/api/v1/auth/login').send({ username, password });
  if (res.status !== 200)
    throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** Environment pointing the app (chat model, embedder, mem0) at an OpenAI test double. */
export function modelEnv(baseUrl: string): Env {
  return {
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: baseUrl,
    EMBEDDING_DIMS: '64',
    OPENAI_MAX_RETRIES: '0',
    OPENAI_TIMEOUT_MS: '5000',
    MEMORY_JOB_POLL_MS: '50',
    MEMORY_JOB_RETRY_BASE_MS: '50',
  };
}

/**
 * Waits until `check` holds, polling; fails the test with `what` after `timeoutMs`. For waits on
 * I/O (a worker, a process, a log line); its deadline is on the monotonic clock, so a spec that
 * fakes Date can still use it.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until no memory job is pending or running (failed ones stay in the queue). */
export async function memoryJobsDrained(t: TestApp, what = 'memory jobs to drain'): Promise<void> {
  const jobs = t.app.get(DataSource).getRepository(MemoryJob);
  await eventually(
    async () => (await jobs.countBy({ status: In(['pending', 'running']) })) === 0,
    what,
  );
}

/**
 * Waits until every memory job (of `userId`, when given) has left the queue. Done jobs are
 * deleted and failed ones stay, so this is "every extraction completed".
 */
export async function memoryJobsDone(
  t: TestApp,
  userId?: string,
  timeoutMs?: number,
): Promise<void> {
  const jobs = t.app.get(DataSource).getRepository(MemoryJob);
  await eventually(
    async () => (await jobs.countBy(userId ? { userId } : {})) === 0,
    userId ? `the memory jobs of ${userId} to finish` : 'the memory jobs to finish',
    timeoutMs,
  );
}

/**
 * For apps whose workers are off (MEMORY_WORKERS_ENABLED=false): runs the app's own extraction
 * worker until the user's jobs are done, then stops it again.
 */
export async function runWorkerUntilDone(t: TestApp, user: TestUser): Promise<void> {
  const worker = t.app.get(MemoryJobWorker);
  worker.start();
  try {
    await memoryJobsDone(t, user.id);
  } finally {
    await worker.beforeApplicationShutdown();
  }
}

/** POST /api/v1/chat/{user_id} as `user`, for a spec to `.expect()` the answer. */
export function postTurn(t: TestApp, user: TestUser, body: object) {
  return t.http().post(`/api/v1/chat/${user.id}`).set(bearer(user.token)).send(body);
}

export interface TurnBody {
  session_id: string;
  message_id: string;
  response: string;
  memories_used: { id: string; memory: string }[];
  memory_status: string;
}

/** A chat turn that must answer 200 (in `sessionId`, or a new session); its body. */
export async function chatTurn(
  t: TestApp,
  user: TestUser,
  message: string,
  sessionId?: string,
): Promise<TurnBody> {
  return (await postTurn(t, user, chatBody(message, sessionId)).expect(200)).body as TurnBody;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Calls `method` on a fresh supertest agent of the app (for routes read from the API document). */
export function call(t: TestApp, method: HttpMethod, url: string) {
  const agent = t.http();
  return agent[method](url);
}
