import { MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

import { MemoryJobWorker } from '@app/memory-jobs/memory-job.worker';
import { TEST_DATABASES } from './support/databases';
import { OpenAiTestDouble } from './support/openai-double';
import {
  bearer,
  eventually,
  modelEnv,
  registerUser,
  startApp,
  testEnv,
  TestApp,
  TestUser,
} from './support/test-app';

const ANNA = 'My friend Anna Schmidt from Porto started the cello in 1991.';
/** What Mem0 3.3's entity extraction finds in ANNA (and in the fact learned from it). */
const ANNA_ENTITIES = ['Anna Schmidt', 'Porto', 'friend Anna Schmidt'];

/**
 * How many embedding requests reach the model server: a chat turn makes one (its message and the
 * entities Mem0's search boosts with, in one batch), an extraction job two (the turn, to find what
 * is known already, before the extraction prompt; then the facts and their entities together),
 * plus, once the user has older memories, one per new fact: the search for older memories close
 * to it (MEMORY_RESOLVE_CONFLICTS), its text and entities in one batch.
 */
describe.each(TEST_DATABASES)('embedding round trips on $name', (db) => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let api: TestApp;

  const jobs = () => api.app.get(DataSource).getRepository(MemoryJob).count();
  const say = async (u: TestUser, message: string) =>
    (
      await api
        .http()
        .post(`/api/v1/chat/${u.id}`)
        .set(bearer(u.token))
        .send({ message })
        .expect(200)
    ).body as { memories_used: { memory: string }[]; memory_status: string };
  /** Runs every queued extraction job (of every test so far). */
  const drain = async () => {
    const worker = api.app.get(MemoryJobWorker);
    worker.start();
    try {
      await eventually(async () => (await jobs()) === 0, 'the jobs to finish');
    } finally {
      await worker.beforeApplicationShutdown();
    }
  };
  /** Each embedding request's inputs, in the order they arrived. */
  const embeddingInputs = () =>
    double
      .embeddingRequests()
      .map((body) => (Array.isArray(body.input) ? body.input : [body.input]));

  beforeAll(async () => {
    await double.start();
    // Workers off: extraction runs only inside `drain`, so a turn's requests are its own.
    api = await startApp(
      testEnv(db, { ...modelEnv(double.baseURL), MEMORY_WORKERS_ENABLED: 'false' }),
    );
  });
  afterAll(async () => {
    await api.close();
    await double.stop();
  });
  afterEach(() => double.reset());

  it('a turn that names people and places: one request with the message and its entities', async () => {
    const u = await registerUser(api);
    double.clear();
    await say(u, ANNA);
    expect(embeddingInputs()).toEqual([[ANNA, ...ANNA_ENTITIES]]);
    expect(double.chatRequests()).toHaveLength(1);
    // The embeddings came back before the model was asked.
    const [embedding, chat] = double.requests;
    expect([embedding.kind, chat.kind]).toEqual(['embeddings', 'chat']);
  });

  it('a turn that names nothing: one request with the message alone', async () => {
    const u = await registerUser(api);
    double.clear();
    await say(u, 'Hi, how are you?');
    expect(embeddingInputs()).toEqual([['Hi, how are you?']]);
  });

  it('an extraction job: the turn, then its facts and their entities in one request', async () => {
    const u = await registerUser(api);
    await drain();
    await say(u, ANNA);
    double.clear();
    await drain();
    expect(double.extractionRequests()).toHaveLength(1);
    const [turn, facts, ...more] = embeddingInputs();
    expect(turn).toEqual([`user: ${ANNA}\nassistant: Echo: ${ANNA}`]);
    expect(facts).toEqual([ANNA, ...ANNA_ENTITIES]);
    expect(more).toEqual([]);
  });

  it('an extraction job whose facts name nothing: two requests as well', async () => {
    const u = await registerUser(api);
    await drain();
    await say(u, 'I like chess.');
    double.clear();
    await drain();
    expect(embeddingInputs()).toEqual([
      ['user: I like chess.\nassistant: Echo: I like chess.'],
      ['I like chess.'],
    ]);
  });

  it('an extraction job of a user with older memories: one more request per new fact', async () => {
    const u = await registerUser(api);
    await say(u, ANNA);
    await drain();
    await say(u, 'I like chess. My car is red.');
    double.clear();
    await drain();
    expect(embeddingInputs()).toEqual([
      ['user: I like chess. My car is red.\nassistant: Echo: I like chess. My car is red.'],
      ['I like chess.', 'My car is red.'],
      // The search for older memories close to each new fact (nothing is: no model question).
      ['I like chess.'],
      ['My car is red.'],
    ]);
    expect(double.conflictRequests()).toEqual([]);
  });

  it('what was learned is found again, boosted through its entities, in one request', async () => {
    const u = await registerUser(api);
    await say(u, ANNA);
    await say(u, 'I like chess.');
    await drain();
    double.clear();
    const turn = await say(u, 'When did Anna Schmidt start?');
    expect(embeddingInputs()).toEqual([
      ['When did Anna Schmidt start?', 'Anna Schmidt', 'Anna Schmidt start'],
    ]);
    expect(turn.memory_status).toBe('ok');
    expect(turn.memories_used.map((m) => m.memory)).toContain(ANNA);
  });
});
