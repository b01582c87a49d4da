import { randomUUID } from 'node:crypto';

import { MemoryJobWorker } from '@app/memory-jobs/memory-job.worker';
import { TEST_DATABASES } from './support/databases';
import {
  bearer,
  chatTurn,
  eventually,
  memoryJobsDrained,
  registerUser,
  TestApp,
  TestUser,
  TurnBody,
} from './support/test-app';
import { useApp, useDouble } from './support/use-app';

const MEMORIES = '/api/v1/memories';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NOT_FOUND = {
  statusCode: 404,
  error: 'Not Found',
  message: 'Memory not found',
  code: 'MEMORY_NOT_FOUND',
};

interface MemoryBody {
  id: string;
  memory: string;
  created_at: string | null;
  updated_at: string | null;
  metadata: { session_id: string | null; message_id: string | null };
}
interface PageBody {
  items: MemoryBody[];
  total: number;
  limit: number;
  offset: number;
}
interface JobBody {
  id: string;
  status: string;
  attempts: number;
  session_id: string;
  message_id: string;
  last_error: string | null;
  run_at: string;
  created_at: string;
}

/** Everything a memory id can be sent to, with the method, path and body. */
const BY_ID: [string, (id: string) => string, object | undefined][] = [
  ['get', (id) => `${MEMORIES}/${id}`, undefined],
  ['put', (id) => `${MEMORIES}/${id}`, { memory: 'I live on the Moon.' }],
  ['delete', (id) => `${MEMORIES}/${id}`, undefined],
  ['get', (id) => `${MEMORIES}/${id}/history`, undefined],
];
/** Every memory route that reaches mem0 (all but the job list), for memory `id`. */
const MEM0_CALLS = (id: string): [string, string, object?][] => [
  ['post', `${MEMORIES}/search`, { query: 'Lisbon' }],
  ['get', `${MEMORIES}/summary`],
  ['get', MEMORIES],
  ['delete', MEMORIES],
  ...BY_ID.map(([method, path, body]): [string, string, object?] => [method, path(id), body]),
];

describe.each(TEST_DATABASES)('memories on $name', (db) => {
  const double = useDouble();

  function send(t: TestApp, user: TestUser | null, method: string, path: string, body?: object) {
    const agent = t.http();
    const req =
      method === 'post'
        ? agent.post(path)
        : method === 'put'
          ? agent.put(path)
          : method === 'delete'
            ? agent.delete(path)
            : agent.get(path);
    if (user) void req.set(bearer(user.token));
    return body === undefined ? req : req.send(body);
  }

  /** A real chat turn; its memory extraction is queued and runs in the background. */
  const chat = (t: TestApp, user: TestUser, message: string) => chatTurn(t, user, message);

  /** The id of the user message of a turn: what memories and jobs name as their message_id. */
  async function userMessageId(t: TestApp, user: TestUser, turn: TurnBody): Promise<string> {
    const res = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions/${turn.session_id}/messages`)
      .set(bearer(user.token))
      .expect(200);
    const messages = res.body.items as { id: string; role: string }[];
    return messages.filter((m) => m.role === 'user').at(-1)!.id;
  }

  describe('with a model', () => {
    const t = useApp(db, { double });
    let alice: TestUser;
    let aliceTurn: TurnBody;

    const drain = () => memoryJobsDrained(t);

    async function list(user: TestUser, query = ''): Promise<PageBody> {
      const res = await send(t, user, 'get', `${MEMORIES}${query}`).expect(200);
      return res.body as PageBody;
    }

    /** A new user who told the bot two facts in one turn, extracted by the real worker. */
    async function userWithMemories(
      message = 'My name is Alice. I live in Lisbon.',
    ): Promise<[TestUser, TurnBody]> {
      const user = await registerUser(t);
      const turn = await chat(t, user, message);
      await drain();
      return [user, turn];
    }

    const memoryCalled = (user: TestUser, text: string) =>
      list(user).then((page) => page.items.find((m) => m.memory === text)!);

    beforeAll(async () => {
      [alice, aliceTurn] = await userWithMemories();
    });

    it('lists what a chat turn taught, newest first, with where it was learned', async () => {
      const page = await list(alice);
      expect(page).toMatchObject({ total: 2, limit: 20, offset: 0 });
      expect(page.items.map((m) => m.memory).sort()).toEqual([
        'I live in Lisbon.',
        'My name is Alice.',
      ]);
      const source = {
        session_id: aliceTurn.session_id,
        message_id: await userMessageId(t, alice, aliceTurn),
      };
      for (const item of page.items) {
        expect(item).toEqual({
          id: expect.stringMatching(UUID),
          memory: expect.any(String),
          created_at: expect.stringMatching(ISO),
          updated_at: expect.stringMatching(ISO),
          metadata: source,
        });
      }
      const times = page.items.map((m) => Date.parse(m.created_at!));
      expect(times).toEqual([...times].sort((a, b) => b - a));

      const first = await list(alice, '?limit=1');
      const second = await list(alice, '?limit=1&offset=1');
      expect(first).toMatchObject({ total: 2, limit: 1, offset: 0 });
      expect([...first.items, ...second.items]).toEqual(page.items);
      expect((await list(alice, '?offset=5')).items).toEqual([]);
      expect((await send(t, alice, 'get', `${MEMORIES}/jobs`).expect(200)).body).toEqual({
        items: [],
      });
    });

    it('finds a fact by meaning, best match first', async () => {
      const res = await send(t, alice, 'post', `${MEMORIES}/search`, {
        query: 'Lisbon',
      }).expect(200);
      const lisbon = await memoryCalled(alice, 'I live in Lisbon.');
      expect(res.body.results[0]).toEqual({
        id: lisbon.id,
        memory: 'I live in Lisbon.',
        score: expect.any(Number),
        created_at: lisbon.created_at,
        updated_at: lisbon.updated_at,
      });
      const one = await send(t, alice, 'post', `${MEMORIES}/search`, {
        query: 'What is my name?',
        limit: 1,
      }).expect(200);
      expect(one.body.results).toHaveLength(1);
      expect(one.body.results[0].memory).toBe('My name is Alice.');
    });

    it('gets, edits (with history), and deletes one memory', async () => {
      const [user] = await userWithMemories('My name is Erin. I live in Lisbon.');
      const lisbon = await memoryCalled(user, 'I live in Lisbon.');
      const path = `${MEMORIES}/${lisbon.id}`;
      expect((await send(t, user, 'get', path).expect(200)).body).toEqual(lisbon);

      const edited = await send(t, user, 'put', path, { memory: 'I live in Porto.' }).expect(200);
      expect(edited.body).toEqual({
        ...lisbon,
        memory: 'I live in Porto.',
        updated_at: expect.stringMatching(ISO),
      });
      expect(Date.parse(edited.body.updated_at)).toBeGreaterThanOrEqual(
        Date.parse(lisbon.updated_at!),
      );
      expect((await send(t, user, 'get', path).expect(200)).body).toEqual(edited.body);
      const found = await send(t, user, 'post', `${MEMORIES}/search`, { query: 'Porto' });
      expect(found.body.results[0]).toMatchObject({ id: lisbon.id, memory: 'I live in Porto.' });

      const history = await send(t, user, 'get', `${path}/history`).expect(200);
      expect(history.body.items).toEqual([
        {
          id: expect.any(String),
          memory_id: lisbon.id,
          previous_value: null,
          new_value: 'I live in Lisbon.',
          action: 'ADD',
          created_at: expect.stringMatching(ISO),
        },
        {
          id: expect.any(String),
          memory_id: lisbon.id,
          previous_value: 'I live in Lisbon.',
          new_value: 'I live in Porto.',
          action: 'UPDATE',
          created_at: expect.stringMatching(ISO),
        },
      ]);

      await send(t, user, 'delete', path).expect(204);
      expect((await send(t, user, 'get', path).expect(404)).body).toEqual(NOT_FOUND);
      await send(t, user, 'get', `${path}/history`).expect(404);
      await send(t, user, 'delete', path).expect(404);
      const left = await list(user);
      expect(left.items.map((m) => m.memory)).toEqual(['My name is Erin.']);
    });

    it('stores an edit exactly as sent', async () => {
      const [user] = await userWithMemories('My name is Frank.');
      const [memory] = (await list(user)).items;
      const text = `Robert'); DROP TABLE memories;-- "ü" 😀 <b>${'x'.repeat(10)}</b>`;
      await send(t, user, 'put', `${MEMORIES}/${memory.id}`, { memory: text }).expect(200);
      expect((await list(user)).items[0].memory).toBe(text);
    });

    it('deletes every memory of the caller and no one else’s', async () => {
      const [user] = await userWithMemories('My name is Carol. I live in Rome.');
      expect((await list(user)).total).toBe(2);
      await send(t, user, 'delete', MEMORIES).expect(204);
      expect(await list(user)).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
      const search = await send(t, user, 'post', `${MEMORIES}/search`, { query: 'Rome' });
      expect(search.body).toEqual({ results: [] });
      expect((await list(alice)).total).toBe(2);
      await send(t, user, 'delete', MEMORIES).expect(204);
    });

    describe('summary', () => {
      it('asks the model once, then again only when the memories changed', async () => {
        const [user] = await userWithMemories('My name is Bob. I live in Berlin.');
        const calls = () => double.chatRequests().length;
        const before = calls();

        const first = await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(first.body).toEqual({ summary: expect.any(String), memory_count: 2 });
        expect(first.body.summary).not.toBe('');
        expect(calls()).toBe(before + 1);
        const [system, block] = double.chatRequests().at(-1)!.messages;
        expect(system.role).toBe('system');
        expect(String(system.content)).not.toContain('Berlin');
        expect(block.role).toBe('user');
        expect(String(block.content)).toMatch(
          /<memories>\n\[.*"I live in Berlin\.".*\]\n<\/memories>/,
        );
        expect(String(block.content)).toContain('"My name is Bob."');

        const again = await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(again.body).toEqual(first.body);
        expect(calls()).toBe(before + 1);

        const berlin = await memoryCalled(user, 'I live in Berlin.');
        await send(t, user, 'put', `${MEMORIES}/${berlin.id}`, {
          memory: 'I live in Hamburg.',
        }).expect(200);
        await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(calls()).toBe(before + 2);
        expect(String(double.chatRequests().at(-1)!.messages[1].content)).toContain('Hamburg');
        await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(calls()).toBe(before + 2);

        // A memory the extraction worker adds also makes the summary stale.
        await chat(t, user, 'I work as a baker.');
        await drain();
        const afterTurn = calls();
        const third = await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(third.body.memory_count).toBe(3);
        expect(calls()).toBe(afterTurn + 1);
      });

      it('is empty, without a model call, when nothing is remembered', async () => {
        const user = await registerUser(t);
        const before = double.requests.length;
        const res = await send(t, user, 'get', `${MEMORIES}/summary`).expect(200);
        expect(res.body).toEqual({ summary: '', memory_count: 0 });
        expect(double.requests.length).toBe(before);
      });
    });

    describe('isolation', () => {
      it('never shows or touches another user’s memories through any endpoint', async () => {
        const [mallory] = await userWithMemories('My name is Mallory. I live in Oslo.');
        const target = await memoryCalled(alice, 'I live in Lisbon.');
        const historyBefore = (
          await send(t, alice, 'get', `${MEMORIES}/${target.id}/history`).expect(200)
        ).body;

        const own = await list(mallory);
        expect(own.total).toBe(2);
        expect(own.items.map((m) => m.memory).sort()).toEqual([
          'I live in Oslo.',
          'My name is Mallory.',
        ]);
        const search = await send(t, mallory, 'post', `${MEMORIES}/search`, {
          query: 'Lisbon Alice',
          limit: 50,
        }).expect(200);
        const found = search.body.results as { id: string; memory: string }[];
        expect(found.every((r) => own.items.some((m) => m.id === r.id))).toBe(true);
        expect(
          (await send(t, mallory, 'get', `${MEMORIES}/summary`).expect(200)).body.memory_count,
        ).toBe(2);
        expect(String(double.chatRequests().at(-1)!.messages[1].content)).not.toContain('Lisbon');

        for (const [method, path, body] of BY_ID) {
          const res = await send(t, mallory, method, path(target.id), body);
          expect({ method, path: path(':id'), status: res.status, body: res.body }).toEqual({
            method,
            path: path(':id'),
            status: 404,
            body: NOT_FOUND,
          });
        }
        await send(t, mallory, 'delete', MEMORIES).expect(204);

        expect((await send(t, alice, 'get', `${MEMORIES}/${target.id}`).expect(200)).body).toEqual(
          target,
        );
        expect(
          (await send(t, alice, 'get', `${MEMORIES}/${target.id}/history`).expect(200)).body,
        ).toEqual(historyBefore);
        expect((await list(alice)).total).toBe(2);
        expect((await list(mallory)).total).toBe(0);
      });

      it('answers one identical 404 for unknown, wildcard and malformed ids', async () => {
        const ids = [
          randomUUID(),
          '00000000-0000-0000-0000-000000000000',
          '*',
          '%2A',
          'not-a-uuid',
          "1'%20OR%20'1'='1",
          '0'.repeat(36),
        ];
        for (const id of ids) {
          for (const [method, path, body] of BY_ID) {
            const res = await send(t, alice, method, path(id), body);
            expect({ id, method, status: res.status, body: res.body }).toEqual({
              id,
              method,
              status: 404,
              body: NOT_FOUND,
            });
          }
        }
        expect((await list(alice)).total).toBe(2);
      });
    });

    describe('bad input', () => {
      it.each([
        ['an unknown field', { query: 'Lisbon', user_id: randomUUID() }],
        ['no query', {}],
        ['an empty query', { query: '' }],
        ['a blank query', { query: '   ' }],
        ['a query over 2000 characters', { query: 'x'.repeat(2001) }],
        ['a query that is not a string', { query: 42 }],
        ['limit 0', { query: 'Lisbon', limit: 0 }],
        ['limit 51', { query: 'Lisbon', limit: 51 }],
        ['a fractional limit', { query: 'Lisbon', limit: 1.5 }],
        ['a limit as a string', { query: 'Lisbon', limit: '5' }],
      ])('search refuses %s with 400', async (_name, body) => {
        const res = await send(t, alice, 'post', `${MEMORIES}/search`, body);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          statusCode: 400,
          error: 'Bad Request',
          code: 'VALIDATION_FAILED',
        });
      });

      it('search accepts limits 1 and 50 and a 2000-character query', async () => {
        await send(t, alice, 'post', `${MEMORIES}/search`, { query: 'x', limit: 1 }).expect(200);
        await send(t, alice, 'post', `${MEMORIES}/search`, { query: 'x', limit: 50 }).expect(200);
        await send(t, alice, 'post', `${MEMORIES}/search`, { query: 'x'.repeat(2000) }).expect(200);
      });

      it('search takes a null limit as no limit given (the default), not as a store failure', async () => {
        const res = await send(t, alice, 'post', `${MEMORIES}/search`, {
          query: 'Lisbon',
          limit: null,
        }).expect(200);
        expect(res.body.results.length).toBeGreaterThan(0);
      });

      it.each([
        ['an unknown field', { memory: 'I live in Faro.', user_id: randomUUID() }],
        ['no memory', {}],
        ['an empty memory', { memory: '' }],
        ['a blank memory', { memory: ' \n ' }],
        ['a memory over 2000 characters', { memory: 'x'.repeat(2001) }],
      ])('update refuses %s with 400 and changes nothing', async (_name, body) => {
        const target = await memoryCalled(alice, 'My name is Alice.');
        const res = await send(t, alice, 'put', `${MEMORIES}/${target.id}`, body);
        expect(res.status).toBe(400);
        expect((await send(t, alice, 'get', `${MEMORIES}/${target.id}`)).body).toEqual(target);
      });

      it('the list refuses a bad page with 400', async () => {
        for (const query of ['?limit=0', '?limit=101', '?offset=-1', '?limit=x', '?user_id=1']) {
          const res = await send(t, alice, 'get', `${MEMORIES}${query}`);
          expect({ query, status: res.status }).toEqual({ query, status: 400 });
        }
      });

      it('every endpoint needs a token', async () => {
        const calls = [...MEM0_CALLS(randomUUID()), ['get', `${MEMORIES}/jobs`] as const];
        for (const [method, path, body] of calls) {
          const res = await send(t, null, method, path, body);
          expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
        }
        expect((await list(alice)).total).toBe(2);
      });
    });
  });

  describe('when extraction keeps failing', () => {
    // The worker is started by hand, once the model is set to fail extraction.
    const t = useApp(db, {
      double,
      env: { MEMORY_WORKERS_ENABLED: 'false', MEMORY_JOB_MAX_ATTEMPTS: '2' },
    });

    it('shows the job pending, then failed for good with its error', async () => {
      const user = await registerUser(t);
      const other = await registerUser(t);
      const turn = await chat(t, user, 'My name is Grace. I live in Lima.');
      const messageId = await userMessageId(t, user, turn);

      const pending = await send(t, user, 'get', `${MEMORIES}/jobs`).expect(200);
      expect(pending.body).toEqual({
        items: [
          {
            id: expect.stringMatching(UUID),
            status: 'pending',
            attempts: 0,
            session_id: turn.session_id,
            message_id: messageId,
            last_error: null,
            run_at: expect.stringMatching(ISO),
            created_at: expect.stringMatching(ISO),
          },
        ],
      });

      // 400 is not retried inside mem0's own OpenAI client: each job attempt makes one call.
      double.failNext({ status: 400, times: 100, path: 'chat' });
      const extractionsBefore = double.extractionRequests().length;
      t.app.get(MemoryJobWorker).start();
      const failed = await eventually(async () => {
        const res = await send(t, user, 'get', `${MEMORIES}/jobs`).expect(200);
        const [job] = res.body.items as JobBody[];
        return job?.status === 'failed' ? job : undefined;
      }, 'the job to fail for good');
      double.reset();

      expect(failed).toEqual({
        ...(pending.body.items as JobBody[])[0],
        status: 'failed',
        attempts: 2,
        last_error: expect.any(String),
        run_at: expect.stringMatching(ISO),
      });
      expect(failed.last_error).not.toBe('');
      expect(double.extractionRequests().length - extractionsBefore).toBe(2);
      expect((await send(t, user, 'get', MEMORIES).expect(200)).body.total).toBe(0);
      expect((await send(t, other, 'get', `${MEMORIES}/jobs`).expect(200)).body).toEqual({
        items: [],
      });
    });
  });

  describe('without a model', () => {
    const t = useApp(db);
    let user: TestUser;

    beforeAll(async () => {
      user = await registerUser(t);
    });

    it('answers 503 wherever mem0 is needed', async () => {
      const calls = [...MEM0_CALLS(randomUUID()), ['get', `${MEMORIES}/*`] as const];
      for (const [method, path, body] of calls) {
        const res = await send(t, user, method, path, body);
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 503 });
        expect(res.body).toEqual({
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.stringMatching(/OPENAI_API_KEY/),
          code: 'MODEL_NOT_CONFIGURED',
        });
      }
    });

    it('still lists extraction jobs (they live in the database)', async () => {
      expect((await send(t, user, 'get', `${MEMORIES}/jobs`).expect(200)).body).toEqual({
        items: [],
      });
    });
  });
});
