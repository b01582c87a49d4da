import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Memory, type MemoryItem } from 'mem0ai/oss';
import OpenAI, { APIError } from 'openai';

import { embedText, OpenAiTestDouble } from './support/openai-double';

/** mem0 returns user_id (and agent_id/run_id) on each item, but its MemoryItem type omits them. */
type StoredMemory = MemoryItem & { user_id?: string };

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // both vectors are unit length
};

describe('OpenAiTestDouble with the real openai SDK', () => {
  const double = new OpenAiTestDouble();
  let baseURL: string;
  let client: OpenAI;

  beforeAll(async () => {
    baseURL = await double.start();
    client = new OpenAI({ apiKey: 'test-key', baseURL, maxRetries: 0 });
  });
  afterEach(() => {
    double.reset();
    double.clear();
  });
  afterAll(() => double.stop());

  it('listens on loopback and lists models', async () => {
    expect(baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
  });

  it('answers a chat completion with the echo reply and approximate usage', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are helpful.' },
      { role: 'user' as const, content: 'hello there' },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

    expect(res.object).toBe('chat.completion');
    expect(res.choices[0].message.content).toBe('Echo: hello there');
    expect(res.choices[0].finish_reason).toBe('stop');
    expect(res.usage).toMatchObject({
      completion_tokens: Math.ceil('Echo: hello there'.length / 4),
      prompt_tokens: Math.ceil('You are helpful.\nhello there'.length / 4),
    });
    expect(double.chatRequests()).toEqual([{ model: 'gpt-4o-mini', messages }]);
    expect(double.extractionRequests()).toEqual([]);
    expect(double.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(double.requests[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('streams the same reply as several deltas, then usage and [DONE]', async () => {
    double.setReply(() => 'The quick brown fox jumps over the lazy dog');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    const finishReasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const choice of chunk.choices) {
        if (choice.delta.content) deltas.push(choice.delta.content);
        finishReasons.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }

    const plain = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(plain.choices[0].message.content);
    expect(finishReasons.filter((r) => r !== null)).toEqual(['stop']);
    expect(usage).toEqual(plain.usage);
  });

  it('embeds deterministically; base64 (SDK default) and float decode to the same vector', async () => {
    const input = 'I live in Lisbon';
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input });
    const float = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: [input, 'Lisbon is where I live', 'quantum chromodynamics'],
      encoding_format: 'float',
    });

    expect(double.embeddingRequests().map((r) => r.encoding_format)).toEqual(['base64', 'float']);
    const [v, reordered, unrelated] = float.data.map((d) => d.embedding);
    expect(b64.data[0].embedding).toHaveLength(1536);
    expect(b64.data[0].embedding).toEqual(v);
    expect(v).toEqual(Array.from(embedText(input, 1536)));
    expect(cosine(v, v)).toBeCloseTo(1, 5);
    expect(cosine(v, reordered)).toBeGreaterThan(0.6); // 3 shared words of 4 and 5
    expect(Math.abs(cosine(v, unrelated))).toBeLessThan(0.3);
    expect(float.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(float.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('honours the requested dimensions', async () => {
    const res = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello',
      dimensions: 64,
    });
    expect(res.data[0].embedding).toHaveLength(64);
    expect(res.data[0].embedding).toEqual(Array.from(embedText('hello', 64)));
  });

  it('surfaces an injected 500 as OpenAI.APIError, once, only on the chosen path', async () => {
    double.failNext({ status: 500, path: 'chat' });
    await client.embeddings.create({ model: 'm', input: 'unaffected' });
    const error = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(APIError);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(500);
    expect((error as APIError).error).toMatchObject({ type: 'server_error' });
    const ok = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(ok.choices[0].message.content).toBe('Echo: x');
  });

  it('fails `times` requests, so SDK retries can be exercised', async () => {
    const retrying = new OpenAI({ apiKey: 'k', baseURL, maxRetries: 1 });
    double.failNext({ status: 503, times: 1 });
    const ok = await retrying.embeddings.create({ model: 'm', input: 'retry me' });
    expect(ok.data).toHaveLength(1);

    double.failNext({ status: 429, times: 2, body: '{"error":{"message":"slow down"}}' });
    const error = await retrying.embeddings
      .create({ model: 'm', input: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as Error).message).toContain('slow down');
    expect(double.embeddingRequests()).toHaveLength(4);
  });

  it('delays answers and records the upstream time', async () => {
    double.setLatency(150, 'embeddings');
    const started = Date.now();
    await client.embeddings.create({ model: 'm', input: 'slow', encoding_format: 'float' });
    await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });

    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    const [embedding, chat] = double.requests;
    expect(embedding.durationMs).toBeGreaterThanOrEqual(145);
    expect(chat.durationMs).toBeLessThan(100);
    expect(double.upstreamMs()).toBeCloseTo(embedding.durationMs! + chat.durationMs!, 5);
  });

  it('turns latency above the SDK timeout into a connection (timeout) error', async () => {
    double.setLatency(2_000);
    const impatient = new OpenAI({ apiKey: 'k', baseURL, timeout: 50, maxRetries: 0 });
    const started = Date.now();
    const error = await impatient.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    // Plain Node gives APIConnectionTimeoutError (a subclass). Under jest the abort's DOMException
    // comes from another realm, the SDK cannot recognise it and reports its parent class.
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(double.requests[0].durationMs).toBeUndefined(); // the double never answered
  });

  it('hangs until reset(), then the held request proceeds', async () => {
    double.hang('chat');
    const pending = client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'held' }],
    });
    await client.embeddings.create({ model: 'm', input: 'not held' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(double.chatRequests()).toHaveLength(1);
    expect(double.requests.find((r) => r.kind === 'chat')?.durationMs).toBeUndefined();

    double.reset();
    expect((await pending).choices[0].message.content).toBe('Echo: held');
  });

  it('breaks a stream after N deltas', async () => {
    double.setReply(() => 'one two three four five');
    double.failStreamAfter(2);
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const deltas: string[] = [];
    const consume = async () => {
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow();
    expect(deltas.join('')).toBe('one two ');
  });

  it('answers unknown paths and bad bodies with OpenAI-shaped errors', async () => {
    const notFound = await fetch(`${baseURL}/assistants`);
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringContaining('/v1/assistants') },
    });
    const bad = await fetch(`${baseURL}/embeddings`, { method: 'POST', body: '{"input": 3}' });
    expect(bad.status).toBe(400);
    expect(double.requests.map((r) => r.kind)).toEqual(['unknown', 'embeddings']);
  });

  it('stop() closes even with a hanging request', async () => {
    const other = new OpenAiTestDouble();
    const url = await other.start();
    other.hang();
    const pending = fetch(`${url}/models`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(500);
    await expect(pending).rejects.toThrow('fetch failed');
  });
});

describe('real mem0 Memory (mem0ai/oss) against the double', () => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  const dir = mkdtempSync(join(tmpdir(), 'openai-double-mem0-'));
  let memory: Memory;

  beforeAll(async () => {
    process.env.MEM0_DIR = join(dir, 'mem0-home'); // telemetry id file; read at call time
    const baseURL = await double.start();
    memory = new Memory({
      embedder: {
        provider: 'openai',
        config: { apiKey: 'test-key', baseURL, model: 'text-embedding-3-small', embeddingDims: 64 },
      },
      llm: { provider: 'openai', config: { apiKey: 'test-key', baseURL, model: 'gpt-4o-mini' } },
      vectorStore: {
        provider: 'memory',
        config: { collectionName: 'memories', dimension: 64, dbPath: join(dir, 'vectors.db') },
      },
      historyStore: { provider: 'sqlite', config: { historyDbPath: join(dir, 'history.db') } },
      // Only used by search({ rerank: true }). Without the nested llm it would call api.openai.com.
      reranker: {
        provider: 'llm_reranker',
        config: { llm: { provider: 'openai', config: { apiKey: 'test-key', baseURL } } },
      },
    });
  });
  afterEach(() => {
    double.reset();
    double.clear();
  });
  afterAll(async () => {
    await double.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let aliceIds: string[] = [];

  it('add(): one extraction call in JSON mode, one memory per stated fact', async () => {
    const added = await memory.add(
      [{ role: 'user', content: 'My name is Alice. I live in Lisbon. What time is it?' }],
      { userId: 'u1', metadata: { session_id: 's1' } },
    );

    expect(added.results.map((r) => r.memory)).toEqual(['My name is Alice.', 'I live in Lisbon.']);
    expect(added.results.map((r) => r.metadata)).toEqual([{ event: 'ADD' }, { event: 'ADD' }]);
    aliceIds = added.results.map((r) => r.id);
    aliceIds.forEach((id) => expect(id).toMatch(/^[0-9a-f-]{36}$/));

    const [extraction] = double.extractionRequests();
    expect(double.extractionRequests()).toHaveLength(1);
    expect(double.chatRequests()).toEqual([]);
    expect(extraction.response_format).toEqual({ type: 'json_object' });
    expect(extraction.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(extraction.messages[1].content).toContain(
      '## New Messages\nuser: My name is Alice. I live in Lisbon. What time is it?',
    );
    // mem0's own embedder asks for floats at the configured size
    const embeddings = double.embeddingRequests();
    expect(embeddings.length).toBeGreaterThanOrEqual(2);
    embeddings.forEach((e) =>
      expect(e).toMatchObject({ encoding_format: 'float', dimensions: 64 }),
    );
    expect(embeddings[0].input).toBe('user: My name is Alice. I live in Lisbon. What time is it?');
    expect(embeddings[1].input).toEqual(['My name is Alice.', 'I live in Lisbon.']);
  });

  it('search(): finds the Lisbon fact for u1, with score and metadata', async () => {
    const found = await memory.search('where does Alice live', {
      filters: { user_id: 'u1' },
      topK: 5,
    });

    // Both facts share one query word; "My name is Alice." ranks first thanks to mem0's entity boost.
    expect(found.results.map((r) => r.memory)).toContain('I live in Lisbon.');
    const lisbon = found.results.find((r) => r.memory === 'I live in Lisbon.');
    expect(lisbon).toMatchObject({
      id: aliceIds[1],
      user_id: 'u1',
      metadata: { session_id: 's1' },
      attributedTo: 'user',
    });
    expect(lisbon?.score).toBeGreaterThan(0.1); // mem0's default threshold
    expect(double.extractionRequests()).toEqual([]);
    expect(double.chatRequests()).toEqual([]);
    expect(double.requests.filter((r) => r.kind === 'rerank')).toEqual([]);
    expect(double.embeddingRequests()[0].input).toBe('where does Alice live');
  });

  it('search({ rerank: true }): one LLM scoring call per hit, answered with a number', async () => {
    const found = await memory.search('Lisbon', {
      filters: { user_id: 'u1' },
      topK: 5,
      rerank: true,
    });
    const reranks = double.requests.filter((r) => r.kind === 'rerank');
    expect(reranks).toHaveLength(found.results.length);
    expect(found.results[0]).toMatchObject({ memory: 'I live in Lisbon.', rerankScore: 1 });
    expect(double.chatRequests()).toEqual([]);
  });

  it('keeps users apart: u2 sees nothing', async () => {
    const search = await memory.search('where does Alice live', { filters: { user_id: 'u2' } });
    const all = await memory.getAll({ filters: { user_id: 'u2' } });
    expect(search.results).toEqual([]);
    expect(all.results).toEqual([]);
  });

  it('getAll()/get(): metadata is the caller metadata; ids and user_id are top-level', async () => {
    const all = await memory.getAll({ filters: { user_id: 'u1' } });
    const byText = (items: MemoryItem[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));
    expect(byText(all.results).map((r) => r.id)).toEqual([...aliceIds].sort());
    for (const item of all.results) {
      expect(item).toMatchObject({ user_id: 'u1', metadata: { session_id: 's1' } });
      expect(item.metadata).toEqual({ session_id: 's1' });
      expect(item.hash).toMatch(/^[0-9a-f]{32}$/);
    }
    const one = await memory.get(aliceIds[0]);
    expect(one).toMatchObject({ id: aliceIds[0], memory: 'My name is Alice.', user_id: 'u1' });
    expect(one?.metadata).toEqual({ session_id: 's1' });
    expect(double.requests).toEqual([]); // reads make no upstream calls
  });

  it('a later add() extracts only from the new messages, not the stored last-k messages', async () => {
    const seen: string[][] = [];
    double.setExtractor((messages) => {
      seen.push(messages);
      return [];
    });
    const added = await memory.add([{ role: 'user', content: 'I work at Acme.' }], {
      userId: 'u1',
    });
    expect(added.results).toEqual([]);
    expect(seen).toEqual([['I work at Acme.']]);
    const prompt = double.extractionRequests()[0].messages[1].content as string;
    expect(prompt).toContain('## Last k Messages\nuser: My name is Alice.');
    expect(prompt).toContain('"text":"I live in Lisbon."'); // existing memories, ids "0".."n"
  });

  it('update()/history()/delete(): embeddings only, no LLM calls', async () => {
    await memory.update(aliceIds[1], { text: 'I live in Porto.' });
    expect(double.extractionRequests()).toEqual([]);
    expect(double.chatRequests()).toEqual([]);
    expect(double.embeddingRequests()[0].input).toBe('I live in Porto.');
    expect((await memory.get(aliceIds[1]))?.memory).toBe('I live in Porto.');

    const history = (await memory.history(aliceIds[1])) as { action: string; new_value: string }[];
    expect(history.map((h) => [h.action, h.new_value])).toEqual([
      ['UPDATE', 'I live in Porto.'],
      ['ADD', 'I live in Lisbon.'],
    ]);

    await memory.delete(aliceIds[1]);
    expect(await memory.get(aliceIds[1])).toBeNull();
  });

  it('"*" as user_id is a wildcard that reads every user', async () => {
    await memory.add([{ role: 'user', content: 'I like tea.' }], { userId: 'u2' });
    const everyone = await memory.getAll({ filters: { user_id: '*' } });
    expect(new Set(everyone.results.map((r: StoredMemory) => r.user_id))).toEqual(
      new Set(['u1', 'u2']),
    );
  });

  it('deleteAll({userId}) removes only that user, but not the raw messages mem0 kept', async () => {
    await memory.deleteAll({ userId: 'u1' });
    expect((await memory.getAll({ filters: { user_id: 'u1' } })).results).toEqual([]);
    expect((await memory.getAll({ filters: { user_id: 'u2' } })).results).toHaveLength(1);

    // The history DB's `messages` table survives deleteAll and feeds the next extraction prompt.
    double.setExtractor(() => []);
    await memory.add([{ role: 'user', content: 'Hello again.' }], { userId: 'u1' });
    const prompt = double.extractionRequests()[0].messages[1].content as string;
    expect(prompt).toContain('## Last k Messages\nuser: My name is Alice.');
  });

  it('deleteAll({ userId: "*" }) deletes every user\'s memories', async () => {
    await memory.deleteAll({ userId: '*' });
    expect((await memory.getAll({ filters: { user_id: 'u2' } })).results).toEqual([]);
  });

  it('an LLM error during extraction makes add() reject', async () => {
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    double.failNext({ status: 400, path: 'chat' }); // 4xx: the bundled SDK does not retry
    await expect(
      memory.add([{ role: 'user', content: 'My cat is Tom.' }], { userId: 'u3' }),
    ).rejects.toThrow(/LLM extraction failed: .*400 Injected failure/);
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
    expect((await memory.getAll({ filters: { user_id: 'u3' } })).results).toEqual([]);
  });
});
