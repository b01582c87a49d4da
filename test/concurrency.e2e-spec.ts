import { MemoryStore } from '@app/ai';
import { ChatSession, MemoryJob, Message, RevokedToken, User } from '@app/database';
import { Logger } from '@nestjs/common';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from './support/databases';
import { userMessagesFromExtractionPrompt } from './support/openai-double';
import { parseSse, rawText } from './support/sse';
import {
  bearer,
  eventually,
  memoryJobsDone,
  postTurn,
  registerUser,
  TestUser,
} from './support/test-app';
import { useApp } from './support/use-app';

interface StoredMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
}

/**
 * Requests that meet: parallel turns in one session, turns racing a rename, a session delete, an
 * account deletion or an admin deletion, parallel registrations of one name, a logout racing the
 * token's use. On MariaDB these used to deadlock (500) and on both databases a parent that
 * vanished mid-request surfaced as a foreign-key 500. Every answer here must be a 2xx or the 4xx
 * that says what happened, and what is stored afterwards must be whole.
 */
describe.each(TEST_DATABASES)('concurrent requests on $name', (db) => {
  // What the server logs as errors: no conflict may reach a client as an unhandled error.
  let errorLog: jest.SpyInstance;
  beforeAll(() => {
    errorLog = jest.spyOn(Logger.prototype, 'error');
  });
  const t = useApp(db, { double: true, admin: true });
  const { double, admin } = t;
  let dataSource: DataSource;
  beforeAll(() => {
    dataSource = t.app.get(DataSource);
  });
  // Declared after useApp: runs once the app has closed.
  afterAll(() => {
    const unhandled = errorLog.mock.calls.filter((call) => call.includes('Unhandled error'));
    errorLog.mockRestore();
    expect(unhandled).toEqual([]);
  });

  const chat = (u: TestUser, body: object) => postTurn(t, u, body);
  const streamChat = (u: TestUser, body: object) =>
    chat(u, { ...body, stream: true })
      .buffer(true)
      .parse(rawText);

  async function newSession(u: TestUser): Promise<string> {
    const res = await t
      .http()
      .post(`/api/v1/chat/${u.id}/sessions`)
      .set(bearer(u.token))
      .send({ title: 'race' })
      .expect(201);
    return res.body.id as string;
  }

  async function history(u: TestUser, sessionId: string): Promise<StoredMessage[]> {
    const items: StoredMessage[] = [];
    for (let offset = 0; ; offset += 100) {
      const res = await t
        .http()
        .get(`/api/v1/chat/${u.id}/sessions/${sessionId}/messages?limit=100&offset=${offset}`)
        .set(bearer(u.token))
        .expect(200);
      items.push(...(res.body.items as StoredMessage[]));
      if (items.length >= (res.body.total as number)) return items;
    }
  }

  const jobsDrained = (userId: string) => memoryJobsDone(t, userId);

  /** How many times each text was handed to mem0's extraction, over all its requests. */
  function extractedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const req of double.extractionRequests()) {
      const prompt = [...req.messages].reverse().find((m) => m.role === 'user')?.content;
      if (typeof prompt !== 'string') continue;
      for (const text of userMessagesFromExtractionPrompt(prompt)) {
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Each question once, each reply once, each reply after the question it answers. */
  function expectWholeTurns(messages: StoredMessage[], questions: string[]): void {
    expect(messages).toHaveLength(questions.length * 2);
    const position = new Map(messages.map((m, i) => [`${m.role}:${m.content}`, i]));
    expect(position.size).toBe(messages.length);
    for (const q of questions) {
      const asked = position.get(`user:${q}`);
      const answered = position.get(`assistant:Echo: ${q}`);
      expect(asked).toBeDefined();
      expect(answered).toBeDefined();
      expect(answered!).toBeGreaterThan(asked!);
    }
  }

  /**
   * A whole answer, or the 4xx that says what vanished. A stream has begun (200) before the
   * vanishing is seen: it must then end with an error event that says so.
   */
  function expectAnsweredOr(res: Response, statuses: number[], message: string | RegExp): void {
    if (res.status !== 200) {
      expect(statuses).toContain(res.status);
      // A streamed request's error arrives as JSON text (its parser keeps the body raw).
      const body = typeof res.body === 'string' ? JSON.parse(res.body) : res.body;
      expect(body.message).toMatch(message);
      return;
    }
    if (typeof res.body !== 'string') return; // a JSON answer
    const last = parseSse(res).at(-1);
    if (last?.event === 'done') return;
    expect(last).toMatchObject({
      event: 'error',
      data: { message: expect.stringMatching(message) },
    });
  }

  function statusesOf(responses: Response[]): number[] {
    return [...new Set(responses.map((r) => r.status))].sort();
  }

  it.each([20, 50])('%i turns sent at once into one session all answer 200', async (n) => {
    const u = await registerUser(t, 'burst');
    const sessionId = await newSession(u);
    double.clear();
    const questions = Array.from({ length: n }, (_, i) => `My note number ${i} is about ${n}.`);
    const responses = await Promise.all(
      questions.map((message) => chat(u, { message, session_id: sessionId })),
    );
    expect(statusesOf(responses)).toEqual([200]);
    responses.forEach((res, i) => {
      expect(res.body.session_id).toBe(sessionId);
      expect(res.body.response).toBe(`Echo: ${questions[i]}`);
    });
    expectWholeTurns(await history(u, sessionId), questions);

    await jobsDrained(u.id);
    const extracted = extractedCounts();
    for (const q of questions) expect(extracted.get(q)).toBe(1);
  });

  it.each([20, 50])(
    '%i streamed turns sent at once into one session all stream to the end',
    async (n) => {
      const u = await registerUser(t, 'stream');
      const sessionId = await newSession(u);
      double.clear();
      const questions = Array.from(
        { length: n },
        (_, i) => `My streamed fact ${i} of ${n} is here.`,
      );
      const responses = await Promise.all(
        questions.map((message) => streamChat(u, { message, session_id: sessionId })),
      );
      expect(statusesOf(responses)).toEqual([200]);
      responses.forEach((res, i) => {
        const events = parseSse(res);
        expect(events.at(-1)).toMatchObject({
          event: 'done',
          data: { response: `Echo: ${questions[i]}` },
        });
      });
      expectWholeTurns(await history(u, sessionId), questions);

      await jobsDrained(u.id);
      const extracted = extractedCounts();
      for (const q of questions) expect(extracted.get(q)).toBe(1);
    },
  );

  it('turns into several sessions, one renamed and one deleted meanwhile: 200, 404 or 409, nothing half-written', async () => {
    const u = await registerUser(t, 'mixed');
    const [kept, renamed, deleted] = [
      await newSession(u),
      await newSession(u),
      await newSession(u),
    ];
    const turns = [kept, renamed, deleted].flatMap((sessionId) =>
      Array.from({ length: 8 }, (_, i) => ({ sessionId, message: `Turn ${i} in ${sessionId}` })),
    );
    const [responses, renames, deletion] = await Promise.all([
      Promise.all(
        turns.map((turn) => chat(u, { message: turn.message, session_id: turn.sessionId })),
      ),
      Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t
            .http()
            .patch(`/api/v1/chat/${u.id}/sessions/${renamed}`)
            .set(bearer(u.token))
            .send({ title: `Renamed ${i}` }),
        ),
      ),
      (async () => {
        await new Promise((r) => setTimeout(r, 5));
        return t.http().delete(`/api/v1/chat/${u.id}/sessions/${deleted}`).set(bearer(u.token));
      })(),
    ]);

    expect(deletion.status).toBe(204);
    expect(statusesOf(renames)).toEqual([200]);
    for (const [i, res] of responses.entries()) {
      const expected = turns[i].sessionId === deleted ? [200, 404] : [200];
      expect(expected).toContain(res.status);
      if (res.status === 404) expect(res.body.message).toMatch(/session not found/i);
    }
    for (const sessionId of [kept, renamed]) {
      const questions = turns.filter((x) => x.sessionId === sessionId).map((x) => x.message);
      expectWholeTurns(await history(u, sessionId), questions);
    }
    await t.http().get(`/api/v1/chat/${u.id}/sessions/${deleted}`).set(bearer(u.token)).expect(404);
    expect(await dataSource.getRepository(Message).countBy({ sessionId: deleted })).toBe(0);
    await jobsDrained(u.id);
  });

  it('a turn racing the deletion of its session answers 200 or 404, never 500', async () => {
    const u = await registerUser(t, 'gone');
    for (let round = 0; round < 3; round++) {
      const sessionId = await newSession(u);
      const [responses, deletion] = await Promise.all([
        Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? streamChat : chat)(u, {
              message: `Race ${round}.${i}`,
              session_id: sessionId,
            }),
          ),
        ),
        t.http().delete(`/api/v1/chat/${u.id}/sessions/${sessionId}`).set(bearer(u.token)),
      ]);
      expect(deletion.status).toBe(204);
      for (const res of responses) expectAnsweredOr(res, [404], 'Session not found');
      expect(await dataSource.getRepository(Message).countBy({ sessionId })).toBe(0);
    }
    await jobsDrained(u.id);
  });

  describe.each([
    ['deletes their own account', 'self'],
    ['deletes the user as admin', 'admin'],
  ])('while the user chats and extraction runs, one %s', (_label, who) => {
    it('answers no 5xx and leaves nothing of the user', async () => {
      const u = await registerUser(t, 'leaving');
      const sessionId = await newSession(u);
      // Extraction jobs of earlier turns run (slowly) while the account goes.
      for (let i = 0; i < 3; i++) {
        await chat(u, { message: `My earlier fact ${i} is known.`, session_id: sessionId }).expect(
          200,
        );
      }
      double.setLatency(30, 'any');
      const deleteAccount = () =>
        who === 'self'
          ? t.http().delete('/api/v1/auth/me').set(bearer(u.token)).send({ password: u.password })
          : t.http().delete(`/api/v1/admin/users/${u.id}`).set(bearer(admin.token));
      const [responses, deletion] = await Promise.all([
        Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 ? streamChat : chat)(u, {
              message: `My late fact ${i} is here.`,
              ...(i % 3 ? { session_id: sessionId } : {}),
            }),
          ),
        ),
        (async () => {
          await new Promise((r) => setTimeout(r, 40));
          return deleteAccount();
        })(),
      ]);
      expect(deletion.status).toBe(204);
      for (const res of responses) {
        expectAnsweredOr(res, [401, 404], /no longer exists|Session not found/);
      }
      double.reset();

      const left = async () => {
        const counts = await Promise.all([
          dataSource.getRepository(User).countBy({ id: u.id }),
          dataSource.getRepository(ChatSession).countBy({ userId: u.id }),
          dataSource.getRepository(Message).countBy({ userId: u.id }),
          dataSource.getRepository(MemoryJob).countBy({ userId: u.id }),
          dataSource.getRepository(RevokedToken).countBy({ userId: u.id }),
        ]);
        return counts.reduce((a, b) => a + b, 0);
      };
      expect(await left()).toBe(0);
      const store = t.app.get(MemoryStore);
      await eventually(
        async () => (await store.list(u.id)).length === 0,
        'the deleted user’s memories to be erased',
      );
      expect(
        await dataSource.getRepository(MemoryJob).countBy({ status: 'running', userId: u.id }),
      ).toBe(0);
      await t.http().get('/api/v1/auth/me').set(bearer(u.token)).expect(401);
    });
  });

  it('memory edits racing deletes, searches, lists and a new turn of one user: no 5xx, nothing lost', async () => {
    const u = await registerUser(t, 'memrace');
    const places = ['Lisbon', 'Oslo', 'Graz', 'Cusco', 'Accra', 'Lyon', 'Pune', 'Perth'];
    const facts = places.map((place) => `I like ${place}.`);
    expect((await chat(u, { message: facts.join(' ') })).status).toBe(200);
    await jobsDrained(u.id);
    const memories = '/api/v1/memories';
    const listed = async () => {
      const res = await t.http().get(`${memories}?limit=100`).set(bearer(u.token)).expect(200);
      return res.body.items as { id: string; memory: string }[];
    };
    const before = await listed();
    expect(before).toHaveLength(facts.length);
    const doomed = before.filter((_, i) => i % 2 === 0);
    const kept = before.filter((_, i) => i % 2 === 1);
    const auth = bearer(u.token);
    const requests: [Promise<Response>, number[]][] = [
      ...doomed.map((m): [Promise<Response>, number[]] => [
        t
          .http()
          .delete(`${memories}/${m.id}`)
          .set(auth)
          .then((r) => r),
        [204, 404],
      ]),
      ...before.map((m): [Promise<Response>, number[]] => [
        t
          .http()
          .put(`${memories}/${m.id}`)
          .set(auth)
          .send({ memory: `${m.memory} Edited.` })
          .then((r) => r),
        [200, 404],
      ]),
      ...places.map((place): [Promise<Response>, number[]] => [
        t
          .http()
          .post(`${memories}/search`)
          .set(auth)
          .send({ query: `I like ${place}` })
          .then((r) => r),
        [200],
      ]),
      [
        t
          .http()
          .get(memories)
          .set(auth)
          .then((r) => r),
        [200],
      ],
      [chat(u, { message: 'I like Bergen.' }).then((r) => r), [200]],
    ];
    const responses = await Promise.all(requests.map(([request]) => request));
    const unexpected = responses.filter((res, i) => !requests[i][1].includes(res.status));
    expect(unexpected.map((res) => `${res.status} ${JSON.stringify(res.body)}`)).toEqual([]);
    await jobsDrained(u.id);

    const after = await listed();
    const byId = new Map(after.map((m) => [m.id, m.memory]));
    for (const m of doomed) {
      expect(byId.has(m.id)).toBe(false);
      await t.http().get(`${memories}/${m.id}/history`).set(auth).expect(404);
    }
    for (const m of kept) expect(byId.get(m.id)).toBe(`${m.memory} Edited.`);
    expect([...byId.values()]).toContain('I like Bergen.');
    expect(after).toHaveLength(kept.length + 1);
  });

  it('registration of one username from 20 requests at once: one 201, nineteen 409', async () => {
    const username = `same_${Date.now().toString(36)}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t
          .http()
          .post('/api/v1/auth/register')
          .send({
            username,
            email: `${username}_${i}@example.com`,
            password: 'correct horse battery',
          }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array<number>(19).fill(409)]);
    // Whether a request lost the check or the insert, it is told which field was taken.
    const codes = responses.filter((r) => r.status === 409).map((r) => r.body.code as string);
    expect(new Set(codes)).toEqual(new Set(['USERNAME_TAKEN']));
    expect(await dataSource.getRepository(User).countBy({ username })).toBe(1);
  });

  it('a logout racing 50 requests with the same token: each 200 or 401, never 5xx', async () => {
    const u = await registerUser(t, 'logout');
    const uses = Array.from({ length: 50 }, (_, i) =>
      i % 2
        ? t.http().get('/api/v1/auth/me').set(bearer(u.token))
        : t.http().get(`/api/v1/chat/${u.id}/sessions`).set(bearer(u.token)),
    );
    const [responses, logout] = await Promise.all([
      Promise.all(uses),
      t.http().post('/api/v1/auth/logout').set(bearer(u.token)),
    ]);
    expect(logout.status).toBe(204);
    for (const res of responses) expect([200, 401]).toContain(res.status);
    await t.http().get('/api/v1/auth/me').set(bearer(u.token)).expect(401);
  });
});
