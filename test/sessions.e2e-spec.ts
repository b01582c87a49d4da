import { ChatSession, Message } from '@app/database';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { messageRow } from './support/builders';
import { TEST_DATABASES } from './support/databases';
import { bearer, registerUser, TestUser } from './support/test-app';
import { useApp, useFakeDate } from './support/use-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOT_FOUND = {
  statusCode: 404,
  error: 'Not Found',
  message: 'Session not found',
  code: 'SESSION_NOT_FOUND',
};
const FORBIDDEN = {
  statusCode: 403,
  error: 'Forbidden',
  message: 'You can only access your own data',
  code: 'NOT_YOUR_DATA',
};

const sessionsOf = (userId: string) => `/api/v1/chat/${userId}/sessions`;

interface SessionPage {
  items: SessionBody[];
  total: number;
  limit: number;
  offset: number;
}

interface SessionBody {
  id: string;
  title: string;
  created_at: string;
  updated_at: string;
  message_count: number;
}

describe.each(TEST_DATABASES)('sessions on $name', (db) => {
  const t = useApp(db);
  // Activity timestamps come from the app's Date, to the millisecond; tests move it themselves.
  const clock = useFakeDate();
  let data: DataSource;

  beforeAll(() => {
    data = t.app.get(DataSource);
  });

  async function createSession(user: TestUser, title?: string): Promise<SessionBody> {
    const res = await t
      .http()
      .post(sessionsOf(user.id))
      .set(bearer(user.token))
      .send(title === undefined ? {} : { title })
      .expect(201);
    // Keep sessions apart in time.
    clock.advance(5);
    return res.body as SessionBody;
  }

  async function list(user: TestUser, query = ''): Promise<SessionPage> {
    const res = await t
      .http()
      .get(`${sessionsOf(user.id)}${query}`)
      .set(bearer(user.token))
      .expect(200);
    return res.body as SessionPage;
  }

  /** Stores messages directly (the chat endpoint is another module), one second apart. */
  async function addMessages(
    user: TestUser,
    sessionId: string,
    contents: string[],
    start = new Date('2025-03-01T10:00:00.000Z'),
  ): Promise<Message[]> {
    const messages = contents.map((content, i) =>
      messageRow({
        sessionId,
        userId: user.id,
        role: i % 2 === 0 ? 'user' : 'assistant',
        content,
        createdAt: new Date(start.getTime() + i * 1000),
      }),
    );
    // Inserted newest first, so that the listing order cannot come from insertion order.
    await data.getRepository(Message).insert([...messages].reverse());
    return messages;
  }

  const countMessages = (sessionId: string) => data.getRepository(Message).countBy({ sessionId });

  describe('create and get', () => {
    it('creates a session with a trimmed title', async () => {
      const user = await registerUser(t);
      const res = await t
        .http()
        .post(sessionsOf(user.id))
        .set(bearer(user.token))
        .send({ title: '  Trip to Lisbon  ' })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        title: 'Trip to Lisbon',
        created_at: expect.any(String),
        updated_at: res.body.created_at,
        message_count: 0,
      });
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);

      const got = await t
        .http()
        .get(`${sessionsOf(user.id)}/${res.body.id}`)
        .set(bearer(user.token))
        .expect(200);
      expect(got.body).toEqual(res.body);
    });

    it('titles a session "New chat" without a title or body', async () => {
      const user = await registerUser(t);
      expect((await createSession(user)).title).toBe('New chat');
      const res = await t.http().post(sessionsOf(user.id)).set(bearer(user.token)).expect(201);
      expect(res.body).toMatchObject({ title: 'New chat', message_count: 0 });
    });

    it('stores a title exactly as sent, up to 200 characters', async () => {
      const user = await registerUser(t);
      const tricky = `Robert'); DROP TABLE chat_sessions;-- "ü" 😀 ${'x'.repeat(150)}`;
      expect((await createSession(user, tricky)).title).toBe(tricky);
      const longest = '€'.repeat(200);
      expect((await createSession(user, longest)).title).toBe(longest);
      const emoji = '😀'.repeat(200);
      expect((await createSession(user, emoji)).title).toBe(emoji);
    });
  });

  describe('list', () => {
    it('orders by latest activity; a rename moves a session to the top', async () => {
      const user = await registerUser(t);
      const a = await createSession(user, 'A');
      const b = await createSession(user, 'B');
      const c = await createSession(user, 'C');
      let page = await list(user);
      expect(page).toEqual({ items: [c, b, a], total: 3, limit: 20, offset: 0 });

      const renamed = await t
        .http()
        .patch(`${sessionsOf(user.id)}/${a.id}`)
        .set(bearer(user.token))
        .send({ title: '  A, renamed ' })
        .expect(200);
      expect(renamed.body).toMatchObject({
        id: a.id,
        title: 'A, renamed',
        created_at: a.created_at,
      });
      expect(Date.parse(renamed.body.updated_at)).toBeGreaterThan(Date.parse(c.updated_at));

      page = await list(user);
      expect(page.items.map((s) => s.title)).toEqual(['A, renamed', 'C', 'B']);
      expect(page.items[0]).toEqual(renamed.body);
    });

    it('paginates without overlap and validates the page', async () => {
      const user = await registerUser(t);
      for (const title of ['1', '2', '3', '4', '5']) await createSession(user, title);
      const all = await list(user);
      expect(all.items.map((s) => s.title)).toEqual(['5', '4', '3', '2', '1']);

      const first = await list(user, '?limit=2');
      const second = await list(user, '?limit=2&offset=2');
      const last = await list(user, '?limit=2&offset=4');
      expect(first).toMatchObject({ total: 5, limit: 2, offset: 0 });
      expect(last).toMatchObject({ total: 5, limit: 2, offset: 4 });
      expect([...first.items, ...second.items, ...last.items]).toEqual(all.items);
      expect((await list(user, '?offset=10')).items).toEqual([]);

      for (const query of ['?limit=0', '?limit=101', '?offset=-1', '?limit=x', '?sort=title']) {
        const res = await t
          .http()
          .get(`${sessionsOf(user.id)}${query}`)
          .set(bearer(user.token));
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
      }
    });

    it('shows only the caller’s sessions, each with its message count', async () => {
      const user = await registerUser(t);
      const other = await registerUser(t);
      const empty = await createSession(user, 'empty');
      const three = await createSession(user, 'three');
      const one = await createSession(user, 'one');
      await addMessages(user, three.id, ['a', 'b', 'c']);
      await addMessages(user, one.id, ['a']);
      const theirs = await createSession(other, 'theirs');
      await addMessages(other, theirs.id, ['x', 'y']);

      const page = await list(user);
      expect(page).toMatchObject({ total: 3 });
      expect(page.items.map((s) => [s.title, s.message_count])).toEqual([
        ['one', 1],
        ['three', 3],
        ['empty', 0],
      ]);
      expect(page.items.map((s) => s.id)).toEqual([one.id, three.id, empty.id]);
      const got = await t
        .http()
        .get(`${sessionsOf(user.id)}/${three.id}`)
        .set(bearer(user.token))
        .expect(200);
      expect(got.body.message_count).toBe(3);
      expect((await list(other)).items).toEqual([{ ...theirs, message_count: 2 }]);
    });
  });

  describe('messages', () => {
    it('lists messages oldest first, paginated, stored exactly as sent', async () => {
      const user = await registerUser(t);
      const session = await createSession(user);
      const contents = ['hello', 'héllo "quoted" 😀', "'; DELETE FROM messages; --", 'x\ny', 'end'];
      const stored = await addMessages(user, session.id, contents);
      const expected = stored.map((m) => ({
        id: m.id,
        role: m.role,
        content: m.content,
        created_at: m.createdAt.toISOString(),
      }));
      const path = `${sessionsOf(user.id)}/${session.id}/messages`;

      const all = await t.http().get(path).set(bearer(user.token)).expect(200);
      expect(all.body).toEqual({ items: expected, total: 5, limit: 20, offset: 0 });

      const page = await t
        .http()
        .get(`${path}?limit=2&offset=2`)
        .set(bearer(user.token))
        .expect(200);
      expect(page.body).toEqual({ items: expected.slice(2, 4), total: 5, limit: 2, offset: 2 });
      await t.http().get(`${path}?limit=101`).set(bearer(user.token)).expect(400);
    });

    it('answers an empty page for a session without messages', async () => {
      const user = await registerUser(t);
      const session = await createSession(user);
      const res = await t
        .http()
        .get(`${sessionsOf(user.id)}/${session.id}/messages`)
        .set(bearer(user.token))
        .expect(200);
      expect(res.body).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
    });
  });

  describe('delete', () => {
    it('removes the session and its messages, and nothing else', async () => {
      const user = await registerUser(t);
      const doomed = await createSession(user, 'doomed');
      const kept = await createSession(user, 'kept');
      await addMessages(user, doomed.id, ['a', 'b', 'c']);
      await addMessages(user, kept.id, ['d', 'e']);
      expect(await countMessages(doomed.id)).toBe(3);

      const path = `${sessionsOf(user.id)}/${doomed.id}`;
      const res = await t.http().delete(path).set(bearer(user.token)).expect(204);
      expect(res.text).toBe('');

      expect(await countMessages(doomed.id)).toBe(0);
      expect(await countMessages(kept.id)).toBe(2);
      expect(await data.getRepository(ChatSession).countBy({ id: doomed.id })).toBe(0);
      expect((await list(user)).items.map((s) => s.id)).toEqual([kept.id]);
      const again = await t.http().delete(path).set(bearer(user.token)).expect(404);
      expect(again.body).toEqual(NOT_FOUND);
      await t.http().get(path).set(bearer(user.token)).expect(404);
    });
  });

  describe('ownership', () => {
    let owner: TestUser;
    let intruder: TestUser;
    let target: SessionBody;

    beforeAll(async () => {
      owner = await registerUser(t, 'owner');
      intruder = await registerUser(t, 'intruder');
      target = await createSession(owner, 'private');
      await addMessages(owner, target.id, ['secret one', 'secret two']);
    });

    /** Every session endpoint, for a path user and a session id. */
    const endpoints = (userId: string, sessionId: string) => {
      const one = `${sessionsOf(userId)}/${sessionId}`;
      return [
        { name: 'list', send: () => t.http().get(sessionsOf(userId)) },
        { name: 'create', send: () => t.http().post(sessionsOf(userId)).send({ title: 'x' }) },
        { name: 'get', send: () => t.http().get(one) },
        { name: 'rename', send: () => t.http().patch(one).send({ title: 'pwned' }) },
        { name: 'delete', send: () => t.http().delete(one) },
        { name: 'messages', send: () => t.http().get(`${one}/messages`) },
      ];
    };

    async function expectOwnerDataUnchanged(): Promise<void> {
      const res = await t
        .http()
        .get(`${sessionsOf(owner.id)}/${target.id}`)
        .set(bearer(owner.token))
        .expect(200);
      expect(res.body).toEqual({ ...target, message_count: 2 });
      expect(await countMessages(target.id)).toBe(2);
      expect((await list(owner)).total).toBe(1);
    }

    it('answers 403 when the path user is someone else, on every endpoint', async () => {
      for (const { name, send } of endpoints(owner.id, target.id)) {
        const res = await send().set(bearer(intruder.token));
        expect({ name, status: res.status, body: res.body }).toEqual({
          name,
          status: 403,
          body: FORBIDDEN,
        });
      }
      // Also for an id that is not a user at all, before any validation of the rest.
      for (const { name, send } of endpoints(randomUUID(), 'not-a-uuid')) {
        const res = await send().set(bearer(intruder.token));
        expect({ name, status: res.status }).toEqual({ name, status: 403 });
      }
      await expectOwnerDataUnchanged();
    });

    it('answers the same 404 for another user’s session as for a missing one', async () => {
      const sessionEndpoints = (sessionId: string) =>
        endpoints(intruder.id, sessionId).filter((e) => !['list', 'create'].includes(e.name));
      const missing = sessionEndpoints(randomUUID());
      for (const [i, { name, send }] of sessionEndpoints(target.id).entries()) {
        const theirs = await send().set(bearer(intruder.token));
        const nobody = await missing[i].send().set(bearer(intruder.token));
        expect({ name, status: theirs.status, body: theirs.body }).toEqual({
          name,
          status: 404,
          body: NOT_FOUND,
        });
        expect(nobody.body).toEqual(theirs.body);
      }
      await expectOwnerDataUnchanged();
      expect((await list(intruder)).total).toBe(0);
    });

    it('answers 401 without a token, on every endpoint', async () => {
      for (const { name, send } of endpoints(owner.id, target.id)) {
        const res = await send();
        expect({ name, status: res.status }).toEqual({ name, status: 401 });
      }
      await expectOwnerDataUnchanged();
    });
  });

  describe('bad input', () => {
    let user: TestUser;
    let session: SessionBody;

    beforeAll(async () => {
      user = await registerUser(t);
      session = await createSession(user, 'original');
    });

    it.each([
      'not-a-uuid',
      '123',
      `${randomUUID()}x`,
      "1' OR '1'='1",
      '00000000-0000-0000-0000-000000000000',
    ])('answers 400 for the session id %p on every endpoint', async (bad) => {
      const one = `${sessionsOf(user.id)}/${encodeURIComponent(bad)}`;
      const calls = [
        t.http().get(one),
        t.http().patch(one).send({ title: 'x' }),
        t.http().delete(one),
        t.http().get(`${one}/messages`),
      ];
      for (const call of calls) {
        const res = await call.set(bearer(user.token));
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          statusCode: 400,
          error: 'Bad Request',
          message: 'session_id must be a UUID',
          code: 'VALIDATION_FAILED',
        });
      }
    });

    it.each([
      ['an unknown field', { title: 'ok', user_id: 'someone' }],
      ['an empty title', { title: '' }],
      ['a blank title', { title: '   ' }],
      ['a 201-character title', { title: 'x'.repeat(201) }],
      ['a non-string title', { title: 42 }],
    ])('refuses %s with 400 on create and rename', async (_name, body) => {
      const create = await t
        .http()
        .post(sessionsOf(user.id))
        .set(bearer(user.token))
        .send(body)
        .expect(400);
      expect(create.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      const rename = await t
        .http()
        .patch(`${sessionsOf(user.id)}/${session.id}`)
        .set(bearer(user.token))
        .send(body)
        .expect(400);
      expect(rename.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect((await list(user)).items).toEqual([session]);
    });

    it('requires a title to rename', async () => {
      const res = await t
        .http()
        .patch(`${sessionsOf(user.id)}/${session.id}`)
        .set(bearer(user.token))
        .send({})
        .expect(400);
      expect(res.body.message).toContain('title must be 1-200 characters');
    });

    it('names the title rule in the message', async () => {
      const res = await t
        .http()
        .post(sessionsOf(user.id))
        .set(bearer(user.token))
        .send({ title: 'x'.repeat(201) })
        .expect(400);
      expect(res.body.message).toEqual(['title must be 1-200 characters']);
    });
  });
});
