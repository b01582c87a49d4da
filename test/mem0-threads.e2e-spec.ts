import { Mem0Client } from '@app/ai/mem0.client';
import { threadId } from 'node:worker_threads';

import { bearer, chatTurn, eventually, registerUser, TestUser } from './support/test-app';
import { useApp } from './support/use-app';

interface Internals {
  memory: Promise<{
    search: (...args: unknown[]) => Promise<unknown>;
  }>;
  searchThread?: {
    worker?: { threadId: number; terminate(): Promise<number> };
    warm: boolean;
  };
}

/**
 * Memory search runs on a thread of its own (Mem0's search is mostly synchronous work): the main
 * thread's Mem0 instance is never asked to search, what the main thread stores the thread finds,
 * and a thread that died is replaced by the next search.
 */
describe('Mem0 threads', () => {
  const t = useApp({ name: 'sqlite' }, { double: { embeddingDims: 32 } });
  const { double } = t;
  let internals: Internals;

  const search = (u: TestUser, query: string) =>
    t
      .http()
      .post('/api/v1/memories/search')
      .set(bearer(u.token))
      .send({ query, limit: 5 })
      .expect(200)
      .then((res) => (res.body.results as { memory: string }[]).map((m) => m.memory));

  beforeAll(() => {
    const client: unknown = t.app.get(Mem0Client);
    internals = client as Internals;
  });

  it('is warm once ready: the thread is up and warmed without a model call, the turn starts nothing', async () => {
    // Nothing has been asked of this app yet: only its start-up warmed Mem0 up.
    await eventually(
      async () => (await t.http().get('/health/ready')).status === 200,
      '/health/ready to answer 200',
    );
    expect(internals.memory).toBeDefined();
    const thread = internals.searchThread;
    expect(thread?.warm).toBe(true);
    const worker = thread?.worker;
    expect(worker?.threadId).not.toBe(threadId);
    expect(double.requests).toEqual([]);
    const u = await registerUser(t);
    const turn = await t
      .http()
      .post(`/api/v1/chat/${u.id}`)
      .set(bearer(u.token))
      .send({ message: 'Hello, I am Ana from Porto.' })
      .expect(200);
    expect(turn.body.memory_status).toBe('ok');
    // The first turn searched on the thread made before readiness: no thread was started for it.
    expect(internals.searchThread).toBe(thread);
    expect(thread?.worker).toBe(worker);
  });

  it('searches off the main thread and finds what the main thread stored', async () => {
    const u = await registerUser(t);
    // Listing memories makes the main thread's Mem0 instance.
    await t.http().get('/api/v1/memories').set(bearer(u.token)).expect(200);
    const mainInstance = await internals.memory;
    mainInstance.search = () => Promise.reject(new Error('searched on the main thread'));
    await chatTurn(t, u, 'I live in Lisbon.');
    await eventually(
      async () => (await search(u, 'Where do I live?')).includes('I live in Lisbon.'),
      'the fact to be found',
    );
    const turn = await chatTurn(t, u, 'Where do I live?');
    expect(turn.memory_status).toBe('ok');
    expect(turn.memories_used.map((m) => m.memory)).toContain('I live in Lisbon.');
    expect(internals.searchThread?.worker?.threadId).not.toBe(threadId);
  });

  it('starts a new thread after the old one died', async () => {
    const u = await registerUser(t);
    expect(await search(u, 'anything')).toEqual([]);
    const first = internals.searchThread!.worker!;
    await first.terminate();
    await eventually(
      () => Promise.resolve(internals.searchThread?.worker !== first),
      'the dead thread to be dropped',
    );
    expect(await search(u, 'anything')).toEqual([]);
    expect(internals.searchThread?.worker?.threadId).not.toBe(first.threadId);
  });

  it('maps a failed embedding inside the thread to the same answers as before', async () => {
    const u = await registerUser(t);
    double.failNext({ status: 500, path: 'embeddings', times: 10 });
    const res = await t
      .http()
      .post('/api/v1/memories/search')
      .set(bearer(u.token))
      .send({ query: 'anything', limit: 5 })
      .expect(502);
    expect(res.body.message).toBe('The embedding service failed; try again');
  });
});
