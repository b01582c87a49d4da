import { ErrorCode } from '@app/common';
import { AppConfig, loadConfig } from '@app/config';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OpenAiTestDouble } from '../../../test/support/openai-double';
import { LlmClient, toDomainError } from './llm.client';

/** The real `openai` SDK against the OpenAI-compatible test double, over HTTP on loopback. */
describe('LlmClient', () => {
  const double = new OpenAiTestDouble({ embeddingDims: 8 });
  const configFor = (env: Record<string, string>): AppConfig =>
    loadConfig({
      DATA_DIR: mkdtempSync(join(tmpdir(), 'llm-spec-')),
      JWT_SECRET: 'k'.repeat(32),
      OPENAI_API_KEY: 'test',
      OPENAI_BASE_URL: double.baseURL,
      OPENAI_MAX_RETRIES: '0',
      ...env,
    });
  const client = (env: Record<string, string> = {}) => new LlmClient(configFor(env));
  const ask = [{ role: 'user' as const, content: 'Say hello' }];

  beforeAll(() => double.start());
  afterAll(() => double.stop());
  afterEach(() => double.reset());

  it('completes with the content, the model, the usage and the latency', async () => {
    const answer = await client().complete(ask);
    expect(answer).toMatchObject({ content: 'Echo: Say hello', model: expect.any(String) });
    expect(answer.usage.promptTokens).toBeGreaterThan(0);
    expect(answer.usage.completionTokens).toBeGreaterThan(0);
    expect(answer.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('asks for JSON mode on request, and only then', async () => {
    double.clear();
    await client().completeJson(ask);
    await client().complete(ask);
    const [json, plain] = double.chatRequests();
    expect(json.response_format).toEqual({ type: 'json_object' });
    expect(plain.response_format).toBeUndefined();
  });

  it('streams deltas whose concatenation is the completion, with its usage', async () => {
    const stream = await client().stream(ask);
    const parts: string[] = [];
    for await (const delta of stream.deltas) parts.push(delta);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe('Echo: Say hello');
    expect(stream.completion()).toMatchObject({ content: 'Echo: Say hello' });
    expect(stream.completion().usage.completionTokens).toBeGreaterThan(0);
  });

  it('answers a model error as MODEL_FAILED naming the status, never its internals', async () => {
    double.failNext({ status: 500, path: 'chat' });
    await expect(client().complete(ask)).rejects.toMatchObject({
      code: ErrorCode.ModelFailed,
      message: 'The model service failed (status 500); try again',
    });
  });

  it('answers a server that cannot be reached as MODEL_FAILED', async () => {
    const unreachable = new LlmClient(
      configFor({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_TIMEOUT_MS: '2000' }),
    );
    await expect(unreachable.complete(ask)).rejects.toMatchObject({
      code: ErrorCode.ModelFailed,
      message: 'The model service could not be reached; try again',
    });
    expect(await unreachable.ping()).toBe(false);
  });

  it('answers a model that does not answer in time as MODEL_TIMEOUT', async () => {
    double.hang('chat');
    await expect(client({ OPENAI_TIMEOUT_MS: '200' }).complete(ask)).rejects.toMatchObject({
      code: ErrorCode.ModelTimeout,
    });
  });

  it('ends a stream that stalls mid-way with MODEL_TIMEOUT, keeping what arrived', async () => {
    double.stallStreamAfter(2);
    const stream = await client({ OPENAI_TIMEOUT_MS: '300' }).stream(ask);
    const parts: string[] = [];
    await expect(
      (async () => {
        for await (const delta of stream.deltas) parts.push(delta);
      })(),
    ).rejects.toMatchObject({ code: ErrorCode.ModelTimeout });
    expect(parts).toHaveLength(2);
    expect(stream.completion().content).toBe(parts.join(''));
  });

  it('lets a caller’s abort through as an abort, not as a model failure', async () => {
    double.setLatency(500, 'chat');
    const caller = new AbortController();
    const pending = client().complete(ask, caller.signal);
    setTimeout(() => caller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
  });

  it('without a key or base URL is not configured, and says which variables to set', async () => {
    const none = new LlmClient(
      loadConfig({
        DATA_DIR: mkdtempSync(join(tmpdir(), 'llm-spec-')),
        JWT_SECRET: 'k'.repeat(32),
      }),
    );
    expect(none.configured).toBe(false);
    expect(await none.ping()).toBe(false);
    await expect(none.complete(ask)).rejects.toMatchObject({
      code: ErrorCode.ModelNotConfigured,
      message: expect.stringContaining('OPENAI_API_KEY'),
    });
  });

  it('pings the model endpoint', async () => {
    expect(await client().ping()).toBe(true);
  });
});

describe('toDomainError', () => {
  it('maps a timeout, and a connection error past the timeout, to MODEL_TIMEOUT', () => {
    expect(toDomainError(new APIConnectionTimeoutError())).toMatchObject({
      code: ErrorCode.ModelTimeout,
    });
    const late = new APIConnectionError({ message: 'aborted' });
    expect(toDomainError(late, { elapsedMs: 500, timeoutMs: 300 })).toMatchObject({
      code: ErrorCode.ModelTimeout,
    });
    expect(toDomainError(late, { elapsedMs: 10, timeoutMs: 300 })).toMatchObject({
      code: ErrorCode.ModelFailed,
    });
  });

  it('passes through what is not an SDK error', () => {
    const plain = new Error('boom');
    expect(toDomainError(plain)).toBe(plain);
    const status = APIError.generate(429, { error: { message: 'slow down' } }, 'x', new Headers());
    expect(toDomainError(status)).toMatchObject({
      code: ErrorCode.ModelFailed,
      message: 'The model service failed (status 429); try again',
    });
  });
});
