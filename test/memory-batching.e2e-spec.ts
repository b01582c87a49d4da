import { MemoryStore } from '@app/ai';
import { MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import { bearer, chatTurn, runWorkerUntilDone, registerUser, TestUser } from './support/test-app';
import { useApp } from './support/use-app';

interface ListedMemory {
  memory: string;
  metadata: { session_id: string | null; message_id: string | null };
}

/** A backlog of one session's turns is learned from in one mem0 call, through the real worker. */
describe.each(TEST_DATABASES)('memory extraction batches on $name', (db) => {
  const api = useApp(db, {
    double: true,
    env: { MEMORY_WORKERS_ENABLED: 'false', MEMORY_JOB_BATCH_SIZE: '3' },
  });
  const { double } = api;
  const jobsOf = (u: TestUser) =>
    api.app.get(DataSource).getRepository(MemoryJob).findBy({ userId: u.id });
  const memoriesOf = async (u: TestUser): Promise<ListedMemory[]> =>
    (await api.http().get('/api/v1/memories').set(bearer(u.token)).expect(200)).body.items;
  const say = (u: TestUser, message: string, sessionId?: string) =>
    chatTurn(api, u, message, sessionId);
  /** Runs the worker until the user's backlog is learned from. */
  const drain = (u: TestUser) => runWorkerUntilDone(api, u);

  it('sends up to MEMORY_JOB_BATCH_SIZE turns of a session in one extraction, in order', async () => {
    const u = await registerUser(api);
    const { session_id: first } = await say(u, 'I live in Oslo.');
    await say(u, 'I like chess.', first);
    await say(u, 'My sister is Ada.', first);
    await say(u, 'I work at the harbour.', first);
    const { session_id: second } = await say(u, 'I am a night owl.');
    double.clear();
    await drain(u);

    // Four turns of one session at a batch size of 3: two calls; the other session: its own.
    // What mem0 sends as the turns to learn from (its prompt also quotes earlier messages).
    const prompts = double
      .extractionRequests()
      .map((body) => JSON.stringify(body.messages))
      .map((text) => text.slice(text.lastIndexOf('## New Messages'), text.lastIndexOf('## Obs')))
      .sort((a, b) => b.length - a.length);
    expect(prompts).toHaveLength(3);
    const [batch] = prompts;
    const at = (text: string) => batch.indexOf(text);
    expect(at('I live in Oslo.')).toBeGreaterThan(-1);
    expect(at('I live in Oslo.')).toBeLessThan(at('I like chess.'));
    expect(at('I like chess.')).toBeLessThan(at('My sister is Ada.'));
    expect(batch).not.toContain('harbour');
    expect(batch).not.toContain('night owl');

    const memories = await memoriesOf(u);
    expect(memories.map((m) => m.memory).sort()).toEqual([
      'I am a night owl.',
      'I like chess.',
      'I live in Oslo.',
      'I work at the harbour.',
      'My sister is Ada.',
    ]);
    // Each memory names the session it came from and the newest user message of its batch.
    const messages = await api
      .http()
      .get(`/api/v1/chat/${u.id}/sessions/${first}/messages`)
      .set(bearer(u.token))
      .expect(200);
    const userMessageIds = (messages.body.items as { id: string; role: string }[])
      .filter((m) => m.role === 'user')
      .map((m) => m.id);
    const source = (text: string) => memories.find((m) => m.memory === text)!.metadata;
    expect(source('I live in Oslo.')).toEqual({ session_id: first, message_id: userMessageIds[2] });
    expect(source('I work at the harbour.')).toEqual({
      session_id: first,
      message_id: userMessageIds[3],
    });
    expect(source('I am a night owl.').session_id).toBe(second);
  });

  it('a re-run removes what an earlier, differently cut attempt stored from its turns', async () => {
    const u = await registerUser(api);
    const { session_id } = await say(u, 'I live in Bergen.');
    await say(u, 'I like tea.', session_id);
    const jobs = api.app.get(DataSource).getRepository(MemoryJob);
    const [a, b] = (await jobsOf(u)).sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
    // A dead worker's batch, led by a job that is gone now, had stored a fact from turn b.
    await api.app.get(MemoryStore).add(u.id, [{ role: 'user', content: 'My half-learned fact.' }], {
      session_id,
      message_id: b.messageId,
      job_id: 'an-earlier-lead',
      job_ids: ['an-earlier-lead', b.id],
    });
    // Both turns went back to the queue after one attempt.
    await jobs.update([a.id, b.id], { attempts: 1 });
    await drain(u);
    expect((await memoriesOf(u)).map((m) => m.memory).sort()).toEqual([
      'I like tea.',
      'I live in Bergen.',
    ]);
  });
});
