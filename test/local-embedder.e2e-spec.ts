import { once } from 'node:events';

import { TEST_DATABASES } from './support/databases';
import { RunningProcess, runEntry } from './support/process';
import {
  bearer,
  chatTurn,
  eventually,
  memoryJobsDone,
  postTurn,
  registerUser,
  TestApp,
  TestUser,
} from './support/test-app';
import { useApp } from './support/use-app';

/** EMBEDDING_PROVIDER=local over the test environment (whose EMBEDDING_DIMS=64 is the double's). */
const LOCAL = { EMBEDDING_PROVIDER: 'local', EMBEDDING_DIMS: '' };
/** No model endpoint at all: blank counts as unset. */
const NO_MODEL = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '' };

/** Extraction embeds on the CPU here: room for a loaded 2-core machine running other suites. */
const EXTRACTION_TIMEOUT_MS = 30_000;

/** What the double's extractor keeps of these turns: one fact each. */
const FACTS = [
  'I am allergic to peanuts.',
  'I live in Lisbon.',
  'My sister plays the cello.',
  'My dog is called Rex.',
];

async function search(t: TestApp, user: TestUser, query: string): Promise<string[]> {
  const res = await t
    .http()
    .post('/api/v1/memories/search')
    .set(bearer(user.token))
    .send({ query, limit: 3 })
    .expect(200);
  return (res.body.results as { memory: string }[]).map((m) => m.memory);
}

async function exited(run: RunningProcess): Promise<number | null> {
  const [code] = (await once(run.child, 'exit')) as [number | null];
  return code;
}

/**
 * EMBEDDING_PROVIDER=local: the model shipped in node_modules makes every vector, so memory is
 * stored and found by meaning without a single embedding request, and searched with no model
 * endpoint configured at all; a store of another size refuses the switch until re-embedded.
 * The queries share no word with the memory they must find first.
 */
describe.each(TEST_DATABASES)('the local embedder on $name', (db) => {
  describe('with the double as chat model only', () => {
    const t = useApp(db, { double: true, env: LOCAL });
    let user: TestUser;

    it('stores what a turn taught and finds it by meaning, with no embedding request', async () => {
      user = await registerUser(t);
      for (const fact of FACTS) await chatTurn(t, user, fact);
      await memoryJobsDone(t, user.id, EXTRACTION_TIMEOUT_MS);
      expect(t.double.extractionRequests().length).toBeGreaterThan(0);

      expect((await search(t, user, 'Which foods make me sick?'))[0]).toBe(FACTS[0]);
      expect((await search(t, user, 'What instrument does my sister play?'))[0]).toBe(FACTS[2]);
      const turn = await chatTurn(t, user, 'What is my pet called?');
      expect(turn.memory_status).toBe('ok');
      expect(turn.memories_used[0]?.memory).toBe(FACTS[3]);

      expect(t.double.embeddingRequests()).toEqual([]);
    });

    it('searches, edits and erases memory with no model endpoint at all; chat alone says 503', async () => {
      await t.close();
      const keyless = await t.startAnother({ ...LOCAL, ...NO_MODEL, DATA_DIR: t.env.DATA_DIR });
      t.double.clear();

      // Ready once warmed up: the search thread has loaded its copy of the model.
      await eventually(
        async () => (await keyless.http().get('/health/ready')).status === 200,
        '/health/ready to answer 200',
      );
      const health = await keyless.http().get('/api/v1/health').expect(200);
      expect(health.body).toMatchObject({
        status: 'not_configured',
        model: { configured: false },
        memory_store: { configured: true, up: true },
      });
      expect((await search(keyless, user, 'Which foods make me sick?'))[0]).toBe(FACTS[0]);
      const stranger = await registerUser(keyless);
      expect(await search(keyless, stranger, 'Which foods make me sick?')).toEqual([]);

      // An edit embeds the new text (on the main process's embedding thread).
      const list = await keyless.http().get('/api/v1/memories').set(bearer(user.token)).expect(200);
      const lisbon = (list.body.items as { id: string; memory: string }[]).find(
        (m) => m.memory === FACTS[1],
      )!;
      await keyless
        .http()
        .put(`/api/v1/memories/${lisbon.id}`)
        .set(bearer(user.token))
        .send({ memory: 'I moved to Tokyo, Japan.' })
        .expect(200);
      expect((await search(keyless, user, 'In which country is my home?'))[0]).toBe(
        'I moved to Tokyo, Japan.',
      );

      const refused = await postTurn(keyless, user, { message: 'Hello' }).expect(503);
      expect(refused.body.code).toBe('MODEL_NOT_CONFIGURED');
      await keyless.http().delete('/api/v1/memories').set(bearer(user.token)).expect(204);
      expect(await search(keyless, user, 'Which foods make me sick?')).toEqual([]);
      expect(t.double.requests).toEqual([]);
    });
  });

  describe('switching a store of 64-dimension vectors to it', () => {
    const t = useApp(db, { double: true });

    it('refuses to start until re-embed has rewritten the store with the local model', async () => {
      const user = await registerUser(t);
      for (const fact of FACTS) await chatTurn(t, user, fact);
      await memoryJobsDone(t, user.id, EXTRACTION_TIMEOUT_MS);
      await t.close();

      const env = { ...t.env, ...LOCAL, ...NO_MODEL, API_HOST: '127.0.0.1', API_PORT: '0' };
      const api = runEntry('apps/api/src/main.ts', env);
      expect(await exited(api)).toBe(1);
      expect(api.output().trim()).toBe(
        'The vector store holds 64-dimension vectors in "memories", but the embedder ' +
          '(EMBEDDING_PROVIDER=local) makes 512: run "npm run cli -- re-embed" with the new ' +
          'settings to re-embed every memory (docs/operations.md), or set EMBEDDING_PROVIDER back',
      );

      t.double.clear();
      const cli = runEntry('apps/api/src/cli.ts', env, ['re-embed']);
      expect(await exited(cli)).toBe(0);
      expect(cli.output()).toMatch(
        /^Re-embedded at 512 dimensions: memories: 4 rows \(were 64 dimensions\), memories_entities: \d+ rows \(were 64 dimensions\)$/m,
      );
      expect(t.double.requests).toEqual([]);

      const again = await t.startAnother({ ...LOCAL, ...NO_MODEL, DATA_DIR: t.env.DATA_DIR });
      expect((await search(again, user, 'Which foods make me sick?'))[0]).toBe(FACTS[0]);
      expect((await search(again, user, 'What is my pet called?'))[0]).toBe(FACTS[3]);
    });
  });
});
