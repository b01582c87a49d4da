import { ApiKey, ChatSession, MemoryJob } from '@app/database';
import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import type { Server } from 'node:http';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import { userMessagesFromExtractionPrompt } from './support/openai-double';
import {
  bearer,
  eventually,
  memoryJobsDone,
  memoryJobsDrained,
  registerUser,
  TestApp,
  TestUser,
} from './support/test-app';
import { useApp } from './support/use-app';

/** The app's address for a real HTTP client: it listens on a free port. */
async function baseUrlOf(t: TestApp): Promise<string> {
  const server = t.app.getHttpServer() as Server;
  if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}/v1`;
}

/** The official SDK pointed at the app, with no retries (a retry would hide what the app said). */
const client = (baseURL: string, apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0 });

describe.each(TEST_DATABASES)('OpenAI-compatible routes on $name', (db) => {
  const t = useApp(db, {
    double: true,
    beforeClose: (app) => memoryJobsDrained(app).catch(() => undefined),
  });
  const { double } = t;
  let baseURL: string;
  let model: string;

  beforeAll(async () => {
    baseURL = await baseUrlOf(t);
    model = t.config.openai.model;
  });

  /** A new user and an SDK client with their login token. */
  async function newClient(): Promise<{ user: TestUser; openai: OpenAI }> {
    const user = await registerUser(t, 'oai');
    return { user, openai: client(baseURL, user.token) };
  }

  async function sessionsOf(user: TestUser): Promise<ChatSession[]> {
    return t.app
      .get(DataSource)
      .getRepository(ChatSession)
      .find({ where: { userId: user.id }, order: { createdAt: 'ASC' } });
  }

  async function messagesOf(user: TestUser, sessionId: string) {
    const res = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions/${sessionId}/messages`)
      .set(bearer(user.token))
      .expect(200);
    return (res.body.items as { role: string; content: string }[]).map((m) => [m.role, m.content]);
  }

  it('lists the configured model in OpenAI’s list shape', async () => {
    const { openai } = await newClient();
    const page = await openai.models.list();
    expect(page.data).toEqual([
      { id: model, object: 'model', created: expect.any(Number), owned_by: 'chatbot-memory' },
    ]);
  });

  it('answers a completion in OpenAI’s shape and stores the turn in the session it names', async () => {
    const { user, openai } = await newClient();
    const { data, response } = await openai.chat.completions
      .create({
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Hello there' }] },
        ],
        temperature: 0.2,
        max_tokens: 50,
      })
      .withResponse();
    expect(data).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Echo: Hello there' },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    // The client's sampling settings reach the model; the model is the configured one.
    const upstream = double.chatRequests().at(-1);
    expect(upstream).toMatchObject({ model, temperature: 0.2, max_tokens: 50 });
    const sessions = await sessionsOf(user);
    expect(sessions).toHaveLength(1);
    expect(response.headers.get('x-session-id')).toBe(sessions[0].id);
    expect(await messagesOf(user, sessions[0].id)).toEqual([
      ['user', 'Hello there'],
      ['assistant', 'Echo: Hello there'],
    ]);
    await memoryJobsDone(t, user.id);
  });

  it('streams chunks the SDK parses; the deltas make the stored reply; usage comes last', async () => {
    const { user, openai } = await newClient();
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Tell me about the harbour in Porto' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(chunks.length).toBeGreaterThan(3);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === model)).toBe(
      true,
    );
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    const [session] = await sessionsOf(user);
    const stored = await messagesOf(user, session.id);
    expect(stored).toEqual([
      ['user', 'Tell me about the harbour in Porto'],
      ['assistant', text],
    ]);
    expect(text).toBe('Echo: Tell me about the harbour in Porto');
    await memoryJobsDone(t, user.id);
  });

  it('recalls a fact told in one conversation in another, as delimited data', async () => {
    const { user, openai } = await newClient();
    await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'My sister Ingrid lives in Trondheim.' }] },
      { headers: { 'X-OpenWebUI-Chat-Id': 'chat-one' } },
    );
    await memoryJobsDone(t, user.id);
    double.clear();
    await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'Where does Ingrid live?' }] },
      { headers: { 'X-OpenWebUI-Chat-Id': 'chat-two' } },
    );
    const prompt = double.chatRequests().at(-1)?.messages ?? [];
    // The memories travel as data in a user-role message, never as instructions.
    const blocks = prompt.filter((m) => String(m.content).includes('Facts remembered'));
    expect(blocks).toHaveLength(1);
    expect(blocks[0].role).toBe('user');
    expect(String(blocks[0].content)).toMatch(/<memories>\n.*Trondheim.*\n<\/memories>/);
    // Our system prompt first, the memory block, then the client's conversation as sent.
    expect(prompt[0].role).toBe('system');
    expect(prompt.at(-1)).toEqual({ role: 'user', content: 'Where does Ingrid live?' });
    const sessions = await sessionsOf(user);
    expect(sessions.map((s) => s.clientKey)).toEqual(['openwebui:chat-one', 'openwebui:chat-two']);
    await memoryJobsDone(t, user.id);
  });

  it('stores only the new turn of a replayed conversation, and extracts it once', async () => {
    const { user, openai } = await newClient();
    const headers = { 'X-Conversation-Id': 'conv-replay' };
    const first = 'I work as a nurse in Bergen.';
    const answer = await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: first }] },
      { headers },
    );
    await memoryJobsDone(t, user.id);
    double.clear();
    const second = 'My dog is called Bamse.';
    await openai.chat.completions.create(
      {
        model,
        messages: [
          { role: 'user', content: first },
          { role: 'assistant', content: answer.choices[0].message.content ?? '' },
          { role: 'user', content: second },
        ],
      },
      { headers },
    );
    await memoryJobsDone(t, user.id);
    const extracted = double
      .extractionRequests()
      .flatMap((r) => userMessagesFromExtractionPrompt(String(r.messages.at(-1)?.content)));
    expect(extracted).toEqual([second]);
    const [session, ...others] = await sessionsOf(user);
    expect(others).toHaveLength(0);
    expect((await messagesOf(user, session.id)).map(([, text]) => text)).toEqual([
      first,
      `Echo: ${first}`,
      second,
      `Echo: ${second}`,
    ]);
  });

  it('keeps a front end’s task prompts and X-Memory: off requests out of memory', async () => {
    const { user, openai } = await newClient();
    const title = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: '### Task:\nGenerate a concise title for the chat.' }],
    });
    expect(title.choices[0].message.content).toMatch(/^Echo: ### Task:/);
    await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'My PIN is 4711' }] },
      { headers: { 'X-Memory': 'off' } },
    );
    // A conversation ending with the assistant's words is answered and not stored either.
    await openai.chat.completions.create({
      model,
      messages: [
        { role: 'user', content: 'Start a poem' },
        { role: 'assistant', content: 'Roses are' },
      ],
    });
    expect(await sessionsOf(user)).toEqual([]);
    const jobs = await t.app.get(DataSource).getRepository(MemoryJob).countBy({ userId: user.id });
    expect(jobs).toBe(0);
    // Nothing was recalled for them either: no memory search embedded their text.
    expect(double.embeddingRequests().some((r) => JSON.stringify(r.input).includes('4711'))).toBe(
      false,
    );
  });

  it('puts turns without a conversation id in one session per day, and honours X-Session-Id', async () => {
    const { user, openai } = await newClient();
    await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'One' }] });
    await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Two' }] });
    const [daily, ...none] = await sessionsOf(user);
    expect(none).toHaveLength(0);
    expect(daily.clientKey).toBe(`day:token:${new Date().toISOString().slice(0, 10)}`);
    const made = await t
      .http()
      .post(`/api/v1/chat/${user.id}/sessions`)
      .set(bearer(user.token))
      .send({ title: 'Chosen' })
      .expect(201);
    await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'Three' }] },
      { headers: { 'X-Session-Id': made.body.id } },
    );
    expect((await messagesOf(user, made.body.id)).map(([, text]) => text)).toEqual([
      'Three',
      'Echo: Three',
    ]);
    // Another user's session is not found, as on the REST API.
    const other = await registerUser(t, 'oai');
    const theirs = await t
      .http()
      .post(`/api/v1/chat/${other.id}/sessions`)
      .set(bearer(other.token))
      .send({})
      .expect(201);
    const foreign = openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'Four' }] },
      { headers: { 'X-Session-Id': theirs.body.id } },
    );
    await expect(foreign).rejects.toBeInstanceOf(NotFoundError);
    await memoryJobsDone(t, user.id);
  });

  it('puts parallel first turns of one conversation in one session; a deletion racing turns is never a 5xx', async () => {
    const { user, openai } = await newClient();
    const headers = { 'X-Conversation-Id': 'busy-conversation' };
    const turn = (text: string) =>
      openai.chat.completions
        .create({ model, messages: [{ role: 'user', content: text }] }, { headers })
        .then(
          () => 200,
          (e: unknown) => (e instanceof APIError ? e.status : e),
        );
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => turn(`Parallel ${i}`)));
    expect(first).toEqual(Array(8).fill(200));
    const [session, ...others] = await sessionsOf(user);
    expect(others).toHaveLength(0);
    expect(await messagesOf(user, session.id)).toHaveLength(16);
    const deletion = t
      .http()
      .delete(`/api/v1/chat/${user.id}/sessions/${session.id}`)
      .set(bearer(user.token))
      .then((r) => r.status);
    const racing = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => turn(`Racing ${i}`)),
      deletion,
    ]);
    // A turn whose session went between its question and its reply is told so (404).
    for (const status of racing) expect([200, 204, 404]).toContain(status);
    expect(racing.at(-1)).toBe(204);
    const after = await sessionsOf(user);
    expect(after.length).toBeLessThanOrEqual(1);
    for (const s of after) {
      expect(s.clientKey).toBe('conversation:busy-conversation');
      const stored = await messagesOf(user, s.id);
      // Whole turns only: each question with its reply, or a question whose reply failed.
      expect(stored.filter(([role]) => role === 'assistant').length).toBeLessThanOrEqual(
        stored.filter(([role]) => role === 'user').length,
      );
    }
    await memoryJobsDone(t, user.id);
  });

  it('refuses bad requests as OpenAI does, ignores unknown fields', async () => {
    const { openai } = await newClient();
    const refusal = async (body: object) => {
      const error = await openai.chat.completions
        .create(body as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(BadRequestError);
      return (error as BadRequestError).error as { message: string; type: string; param: string };
    };
    const user = (content: unknown) => [{ role: 'user', content }];
    expect(await refusal({ model, messages: user('Hi'), temperature: 3 })).toMatchObject({
      type: 'invalid_request_error',
      param: 'temperature',
      message: expect.stringMatching(/temperature/),
      code: 'VALIDATION_FAILED',
    });
    expect(await refusal({ model, messages: [] })).toMatchObject({ param: 'messages' });
    expect(
      await refusal({
        model,
        messages: user([{ type: 'image_url', image_url: { url: 'http://x/y.png' } }]),
      }),
    ).toMatchObject({ param: 'messages[0].content', message: expect.stringMatching(/text parts/) });
    expect(
      await refusal({ model, messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }),
    ).toMatchObject({ param: 'messages[0].role' });
    expect(await refusal({ model, messages: user('Hi'), n: 2 })).toMatchObject({ param: 'n' });
    expect(await refusal({ model, messages: user('x'.repeat(8001)) })).toMatchObject({
      param: 'messages',
      message: expect.stringMatching(/at most 8000 characters/),
    });
    const unknownModel = await openai.chat.completions
      .create({ model: 'gpt-nonexistent', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(unknownModel).toBeInstanceOf(NotFoundError);
    expect((unknownModel as NotFoundError).error).toMatchObject({
      param: 'model',
      code: 'MODEL_NOT_FOUND',
    });
    // Fields OpenAI knows and this backend does not use, and fields nobody knows: ignored.
    const fine = await openai.chat.completions.create({
      model,
      messages: [{ role: 'developer', content: 'Answer in English.' }, ...user('Hi')],
      frequency_penalty: 0.5,
      seed: 7,
      user: 'someone',
      ...({ some_future_field: { deep: true } } as object),
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
    expect(fine.choices[0].message.content).toBe('Echo: Hi');
    expect(
      double
        .chatRequests()
        .at(-1)
        ?.messages.find((m) => m.role === 'system' && String(m.content) === 'Answer in English.'),
    ).toBeDefined();
  });

  it('answers a model failure with OpenAI’s error shape, before and during a stream', async () => {
    const { user, openai } = await newClient();
    double.failNext({ status: 500, path: 'chat' });
    const failed = await openai.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Are you there?' }] })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(APIError);
    expect((failed as APIError).status).toBe(502);
    expect((failed as APIError).error).toMatchObject({
      type: 'server_error',
      code: 'MODEL_FAILED',
      param: null,
      message: expect.any(String),
    });
    double.failStreamAfter(2);
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse keeper' }],
      stream: true,
    });
    let text = '';
    const broken = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(APIError);
    expect((broken as APIError).error).toMatchObject({
      code: 'MODEL_FAILED',
      type: 'server_error',
    });
    // What arrived is kept, as on /api/v1/chat.
    const sessions = await sessionsOf(user);
    const stored = await messagesOf(user, sessions[0].id);
    expect(stored.at(-1)).toEqual(['assistant', text]);
    await memoryJobsDone(t, user.id);
  });

  it('refuses a missing or wrong credential as the SDK’s AuthenticationError', async () => {
    for (const key of ['not-a-token', 'cbk_' + 'A'.repeat(43)]) {
      const error = await client(baseURL, key)
        .models.list()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).error).toMatchObject({ code: 'TOKEN_INVALID' });
    }
    const res = await t.http().get('/v1/models').expect(401);
    expect(res.body).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'TOKEN_INVALID',
      },
    });
    const unknown = await t.http().get('/v1/embeddings').expect(404);
    expect(unknown.body.error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps what arrived when the client goes away mid-stream, and stays up', async () => {
    const { user, openai } = await newClient();
    double.stallStreamAfter(2);
    const gone = new AbortController();
    const stream = await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'one two three four' }], stream: true },
      { signal: gone.signal },
    );
    let text = '';
    await (async () => {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (text === 'Echo: one ') gone.abort();
      }
    })().catch(() => undefined);
    expect(text).toBe('Echo: one ');
    const stored = await eventually(async () => {
      const [session] = await sessionsOf(user);
      const messages = session ? await messagesOf(user, session.id) : [];
      return messages.length === 2 ? messages : undefined;
    }, 'the partial reply to be stored');
    expect(stored).toEqual([
      ['user', 'one two three four'],
      ['assistant', 'Echo: one '],
    ]);
    double.reset();
    await t.http().get('/health/live').expect(200);
    await memoryJobsDone(t, user.id);
  });

  it('streams a request kept out of memory as any other', async () => {
    const { user, openai } = await newClient();
    const stream = await openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'Private words' }], stream: true },
      { headers: { 'X-Memory': 'off' } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Echo: Private words');
    expect(await sessionsOf(user)).toEqual([]);
  });

  it('takes a personal API key as its owner; a revoked, expired or made-up key is the SDK’s AuthenticationError', async () => {
    const user = await registerUser(t, 'oai');
    const makeKey = async (name: string) =>
      (
        await t
          .http()
          .post('/api/v1/auth/api-keys')
          .set(bearer(user.token))
          .send({ name })
          .expect(201)
      ).body as { id: string; key: string };
    const key = await makeKey('sdk');
    const openai = client(baseURL, key.key);
    expect((await openai.models.list()).data[0].id).toBe(model);
    const { response } = await openai.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Hello with a key' }] })
      .withResponse();
    const [session] = await sessionsOf(user);
    expect(response.headers.get('x-session-id')).toBe(session.id);
    // Without a conversation id: one session per key and day.
    expect(session.clientKey).toBe(`day:key:${key.id}:${new Date().toISOString().slice(0, 10)}`);
    const refused = async (apiKey: string) => {
      const error = await client(baseURL, apiKey)
        .chat.completions.create({ model, messages: [{ role: 'user', content: 'Still me?' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).error).toMatchObject({ code: 'TOKEN_INVALID' });
    };
    const expiring = await makeKey('expiring');
    await t.app
      .get(DataSource)
      .getRepository(ApiKey)
      .update({ id: expiring.id }, { expiresAt: new Date(Date.now() - 1000) });
    await refused(expiring.key);
    await t.http().delete(`/api/v1/auth/api-keys/${key.id}`).set(bearer(user.token)).expect(204);
    await refused(key.key);
    // Not ours: a key of the right shape that was never made, and an OpenAI key.
    await refused(`cbk_${'x'.repeat(43)}`);
    await refused(`sk-proj-${'A'.repeat(48)}`);
    await memoryJobsDone(t, user.id);
  });

  it('applies the chat rate limit, answered as OpenAI’s RateLimitError', async () => {
    const limited = await t.startAnother({ THROTTLE_CHAT_PER_MINUTE: '1' });
    const user = await registerUser(limited, 'oai');
    const openai = client(await baseUrlOf(limited), user.token);
    const ask = () =>
      openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: '### Task: a title' }],
      });
    await ask();
    await expect(ask()).rejects.toBeInstanceOf(RateLimitError);
    await limited.close();
  });
});
