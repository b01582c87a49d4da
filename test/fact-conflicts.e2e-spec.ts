import { MemoryRecord, MemoryStore } from '@app/ai';
import { Mem0Client } from '@app/ai/mem0.client';
import { MemoryJob } from '@app/database';
import type { Memory } from 'mem0ai/oss';
import { DataSource } from 'typeorm';

import { MemoryExtractionService } from '@app/memory-jobs/memory-extraction.service';
import { TEST_DATABASES } from './support/databases';
import { ConflictQuestion, Decider, embedText } from './support/openai-double';
import {
  bearer,
  chatTurn,
  registerUser,
  runWorkerUntilDone,
  TestApp,
  TestUser,
  TurnBody,
} from './support/test-app';
import { useApp } from './support/use-app';

const MEMORIES = '/api/v1/memories';

interface MemoryBody {
  id: string;
  memory: string;
  created_at: string;
  updated_at: string;
  metadata: { session_id: string | null; message_id: string | null };
}
interface HistoryBody {
  memory_id: string;
  previous_value: string | null;
  new_value: string | null;
  action: string;
  created_at: string;
}

/**
 * A decider that answers `event` for every new fact, against its closest memory, or against the
 * memory saying `about` when it was asked about (ADD when it was not).
 */
const always =
  (event: string, about?: string): Decider =>
  (question: ConflictQuestion) =>
    JSON.stringify({
      decisions: question.new_facts.map((fact) => {
        const memory = about
          ? question.memories.find((m) => m.text === about)?.id
          : fact.close_to[0];
        return memory ? { fact: fact.id, event, memory } : { fact: fact.id, event: 'ADD' };
      }),
    });

/**
 * Mem0 only ever adds; the extraction then weighs each new fact against the user's closest older
 * memories, asking the model (here the double's deterministic decider: same first three words →
 * UPDATE) once per job, and only when some older memory is close.
 */
describe.each(TEST_DATABASES)('facts that change on $name', (db) => {
  // Workers off: `tell` runs one user's extraction with the app's own worker, then stops it.
  const t = useApp(db, { double: true, env: { MEMORY_WORKERS_ENABLED: 'false' } });
  const { double } = t;

  /** A chat turn, then its extraction, done (a failed job would time the wait out). */
  async function tell(app: TestApp, user: TestUser, message: string): Promise<TurnBody> {
    const turn = await chatTurn(app, user, message);
    await runWorkerUntilDone(app, user);
    return turn;
  }
  const list = async (user: TestUser, app: TestApp = t) =>
    (await app.http().get(`${MEMORIES}?limit=100`).set(bearer(user.token)).expect(200)).body
      .items as MemoryBody[];
  const texts = async (user: TestUser, app: TestApp = t) =>
    (await list(user, app)).map((m) => m.memory).sort();
  const history = async (user: TestUser, id: string) =>
    (await t.http().get(`${MEMORIES}/${id}/history`).set(bearer(user.token)).expect(200)).body
      .items as HistoryBody[];
  const jobsOf = async (user: TestUser) =>
    (await t.http().get(`${MEMORIES}/jobs`).set(bearer(user.token)).expect(200)).body
      .items as unknown[];
  const questions = () => double.conflictRequests().length;
  /** Mem0's own instance, to read the history of memories MemoryStore calls gone. */
  const mem0 = () => {
    const client: unknown = t.app.get(Mem0Client);
    return (client as { instance(): Promise<Memory> }).instance();
  };
  async function userMessageId(user: TestUser, turn: TurnBody): Promise<string> {
    const res = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions/${turn.session_id}/messages`)
      .set(bearer(user.token))
      .expect(200);
    return (res.body.items as { id: string; role: string }[]).filter((m) => m.role === 'user')[0]
      .id;
  }

  it('a fact that changed updates the old memory, whose history shows both texts', async () => {
    const u = await registerUser(t);
    double.clear();
    await tell(t, u, 'I live in Lisbon.');
    // The user's first fact has nothing to contradict: no question.
    expect(questions()).toBe(0);
    const [lisbon] = await list(u);
    expect(lisbon.memory).toBe('I live in Lisbon.');

    const moved = await tell(t, u, 'I live in Berlin.');
    expect(questions()).toBe(1);
    const [asked] = double.conflictRequests();
    expect(asked.response_format).toEqual({ type: 'json_object' });
    const question = JSON.parse(String(asked.messages[1].content)) as ConflictQuestion;
    expect(question).toEqual({
      memories: [{ id: 'E1', learned: lisbon.updated_at.slice(0, 10), text: 'I live in Lisbon.' }],
      new_facts: [{ id: 'N1', text: 'I live in Berlin.', close_to: ['E1'] }],
    });

    // One memory about where the user lives: the old one, with the new text and source.
    const [berlin, ...others] = await list(u);
    expect(others).toEqual([]);
    expect(berlin).toEqual({
      ...lisbon,
      memory: 'I live in Berlin.',
      updated_at: expect.any(String),
      metadata: { session_id: moved.session_id, message_id: await userMessageId(u, moved) },
    });
    expect(Date.parse(berlin.updated_at)).toBeGreaterThanOrEqual(Date.parse(lisbon.updated_at));
    expect(await history(u, berlin.id)).toEqual([
      expect.objectContaining({
        previous_value: null,
        new_value: 'I live in Lisbon.',
        action: 'ADD',
      }),
      expect.objectContaining({
        memory_id: lisbon.id,
        previous_value: 'I live in Lisbon.',
        new_value: 'I live in Berlin.',
        action: 'UPDATE',
      }),
    ]);
    expect(await jobsOf(u)).toEqual([]);

    // An unrelated fact is added beside it, without a question: nothing is close to it.
    await tell(t, u, 'I like chess.');
    expect(await texts(u)).toEqual(['I like chess.', 'I live in Berlin.']);
    expect(questions()).toBe(1);

    // The chat model sees the new fact only, dated.
    double.clear();
    await chatTurn(t, u, 'Where do I live?');
    const block = String(double.chatRequests()[0].messages[1].content);
    expect(block).toContain(`"fact":"I live in Berlin."`);
    expect(block).not.toContain('Lisbon');
  });

  it('DELETE retires the old memory; the new one’s history names the text it replaced', async () => {
    const u = await registerUser(t);
    await tell(t, u, 'I live in Lisbon.');
    const [lisbon] = await list(u);
    double.setDecider(always('DELETE'));
    await tell(t, u, 'I live in Berlin.');
    const [berlin, ...others] = await list(u);
    expect(others).toEqual([]);
    expect(berlin.memory).toBe('I live in Berlin.');
    expect(berlin.id).not.toBe(lisbon.id);
    await t.http().get(`${MEMORIES}/${lisbon.id}`).set(bearer(u.token)).expect(404);
    expect(await history(u, berlin.id)).toEqual([
      expect.objectContaining({
        previous_value: null,
        new_value: 'I live in Berlin.',
        action: 'ADD',
      }),
      expect.objectContaining({
        memory_id: berlin.id,
        previous_value: 'I live in Lisbon.',
        new_value: 'I live in Berlin.',
        action: 'DELETE',
      }),
    ]);
    // Erasing the survivor erases the retired text with it: nothing of Lisbon is left.
    await t.http().delete(`${MEMORIES}/${berlin.id}`).set(bearer(u.token)).expect(204);
    expect(await (await mem0()).history(berlin.id)).toEqual([]);
    expect(await (await mem0()).history(lisbon.id)).toEqual([]);
  });

  it('NONE drops a new fact that only repeats a memory', async () => {
    const u = await registerUser(t);
    await tell(t, u, 'I live in Lisbon.');
    const [lisbon] = await list(u);
    double.setDecider(always('NONE'));
    await tell(t, u, 'I live in Lisbon, Portugal.');
    expect(await list(u)).toEqual([lisbon]);
    expect((await history(u, lisbon.id)).map((h) => h.action)).toEqual(['ADD']);
  });

  it.each<[string, Decider]>([
    ['is not JSON', () => 'not json'],
    [
      'names a memory it was not asked about',
      () => '{"decisions": [{"fact": "N1", "event": "UPDATE", "memory": "E9"}]}',
    ],
    [
      'has an unknown event',
      () => '{"decisions": [{"fact": "N1", "event": "MERGE", "memory": "E1"}]}',
    ],
    [
      'fails (the server errs)',
      () => {
        throw new Error('the model is down');
      },
    ],
  ])('keeps both facts, and finishes the job, when the answer %s', async (_name, decider) => {
    const u = await registerUser(t);
    await tell(t, u, 'I live in Lisbon.');
    double.setDecider(decider);
    double.clear();
    await tell(t, u, 'I live in Berlin.');
    expect(questions()).toBe(1);
    expect(await texts(u)).toEqual(['I live in Berlin.', 'I live in Lisbon.']);
    expect(await jobsOf(u)).toEqual([]);
  });

  it('keeps both facts when MEMORY_RESOLVE_CONFLICTS is off, and asks nothing', async () => {
    const off = await t.startAnother({
      MEMORY_RESOLVE_CONFLICTS: 'false',
      MEMORY_WORKERS_ENABLED: 'false',
    });
    try {
      const u = await registerUser(off);
      double.clear();
      await tell(off, u, 'I live in Lisbon.');
      await tell(off, u, 'I live in Berlin.');
      expect(await texts(u, off)).toEqual(['I live in Berlin.', 'I live in Lisbon.']);
      expect(questions()).toBe(0);
    } finally {
      await off.close();
    }
  });

  it('a re-run of a job that updated a memory (its worker died after) ends the same', async () => {
    const u = await registerUser(t);
    await tell(t, u, 'I live in Lisbon.');
    await chatTurn(t, u, 'I live in Berlin.');
    const [job] = await t.app.get(DataSource).getRepository(MemoryJob).findBy({ userId: u.id });
    const extraction = t.app.get(MemoryExtractionService);
    try {
      await extraction.extract([{ ...job, attempts: 1 }]);
      expect(await texts(u)).toEqual(['I live in Berlin.']);
      // The second attempt forgets the memory the first one updated (its text came from this
      // turn), then learns the fact again: nothing older is left to weigh it against.
      await extraction.extract([{ ...job, attempts: 2 }]);
      const [berlin, ...others] = await list(u);
      expect(others).toEqual([]);
      expect(berlin.memory).toBe('I live in Berlin.');
      expect((await history(u, berlin.id)).map((h) => h.action)).toEqual(['ADD']);
    } finally {
      await t.app.get(DataSource).getRepository(MemoryJob).delete({ userId: u.id });
    }
  });

  it('asks only about facts close enough to an older memory (MEMORY_CONFLICT_SIMILARITY)', () => {
    // What the double's embeddings make of the texts above, against the default 0.4.
    const cosine = (a: string, b: string) => {
      const [x, y] = [embedText(a, 64), embedText(b, 64)];
      return x.reduce((sum, v, i) => sum + v * y[i], 0);
    };
    expect(cosine('I live in Berlin.', 'I live in Lisbon.')).toBeGreaterThan(0.4);
    expect(cosine('I like chess.', 'I live in Berlin.')).toBeLessThan(0.4);
  });

  /**
   * Two extractions of one user never run at once through the queue (one running job per user),
   * except after a lost lease, when a stale worker finishes what a new one reruns. Both then
   * weigh their new fact against the same old memory at the same moment (the double answers
   * both questions after the same delay). Neither may fail for good: a failed attempt is run
   * again, as the queue would; nothing may be left of a memory that is gone.
   */
  describe.each([
    ['UPDATE', 'UPDATE'],
    ['DELETE', 'DELETE'],
    ['UPDATE', 'DELETE'],
  ])('two extractions at once, deciding %s and %s on one memory', (first, second) => {
    it('both finish (after a retry at most), and every memory left is whole', async () => {
      const u = await registerUser(t);
      await tell(t, u, 'I live in Lisbon.');
      const [lisbon] = await list(u);
      await chatTurn(t, u, 'I live in Berlin.');
      await chatTurn(t, u, 'I live in Hamburg.');
      const jobs = await t.app.get(DataSource).getRepository(MemoryJob).findBy({ userId: u.id });
      expect(jobs).toHaveLength(2);

      const store = t.app.get(MemoryStore);
      const added = jest.spyOn(store, 'add');
      // Each new fact may also be close to the other one, just stored: only Lisbon is decided on.
      double.setDecider((question) =>
        always(
          question.new_facts[0].text.includes('Berlin') ? first : second,
          'I live in Lisbon.',
        )(question),
      );
      double.setLatency(200, 'chat');
      double.clear();
      const extraction = t.app.get(MemoryExtractionService);
      try {
        const attempts = await Promise.allSettled(
          jobs.map((job) => extraction.extract([{ ...job, attempts: 1 }])),
        );
        // Both weighed their fact against Lisbon before either had changed it.
        const aboutLisbon = double
          .conflictRequests()
          .filter((r) => String(r.messages[1].content).includes('I live in Lisbon.'));
        expect(aboutLisbon).toHaveLength(2);
        // The queue's retry: a second attempt first forgets what the first one stored.
        for (const [i, attempt] of attempts.entries()) {
          if (attempt.status === 'rejected')
            await extraction.extract([{ ...jobs[i], attempts: 2 }]);
        }
        const learned = (
          await Promise.all(added.mock.results.map((r) => r.value as Promise<MemoryRecord[]>))
        ).flat();

        const left = await list(u);
        expect(left.length).toBeGreaterThan(0);
        for (const memory of left) {
          expect(['I live in Berlin.', 'I live in Hamburg.']).toContain(memory.memory);
          expect((await history(u, memory.id)).length).toBeGreaterThan(0);
        }
        // A memory that is gone (retired, updated into another, or forgotten by a retry) left
        // no history behind: its text would otherwise outlive it.
        const present = new Set(left.map((m) => m.id));
        for (const id of [lisbon.id, ...learned.map((m) => m.id)]) {
          if (!present.has(id)) expect([id, await (await mem0()).history(id)]).toEqual([id, []]);
        }
      } finally {
        added.mockRestore();
        await t.app.get(DataSource).getRepository(MemoryJob).delete({ userId: u.id });
      }
    });
  });
});
