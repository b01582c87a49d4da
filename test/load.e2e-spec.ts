import { Message, MemoryJob } from '@app/database';
import { DataSource } from 'typeorm';

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

const USERS = 50;
const SECONDS = Number(process.env.LOAD_TEST_SECONDS ?? 30);

/**
 * 50 concurrent users chatting for 30 s against the test double: no 5xx, every turn stored once,
 * every extraction job completes, and memory does not keep growing.
 */
describe.each(TEST_DATABASES)('load on $name', (db) => {
  const double = new OpenAiTestDouble({ embeddingDims: 64 });
  let t: TestApp;

  beforeAll(async () => {
    await double.start();
    t = await startApp(
      testEnv(db, { ...modelEnv(double.baseURL), MEMORY_WORKER_CONCURRENCY: '4' }),
    );
  });
  afterAll(async () => {
    await t.close();
    await double.stop();
  });

  it(
    `${USERS} users for ${SECONDS} s`,
    async () => {
      const users: TestUser[] = [];
      for (let i = 0; i < USERS; i++) users.push(await registerUser(t, 'load'));
      const statuses = new Map<number, number>();
      const turns = new Map<string, number>();
      const rss: number[] = [];
      const deadline = Date.now() + SECONDS * 1000;
      const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1000);

      await Promise.all(
        users.map(async (u, i) => {
          let sessionId: string | undefined;
          let n = 0;
          while (Date.now() < deadline) {
            const res = await t
              .http()
              .post(`/api/v1/chat/${u.id}`)
              .set(bearer(u.token))
              .send({
                message: `Turn ${n} of user ${i}. I like topic ${n % 7}.`,
                session_id: sessionId,
              });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 200) {
              sessionId = res.body.session_id as string;
              n += 1;
            }
          }
          turns.set(u.id, n);
        }),
      );
      clearInterval(sampler);

      const total = [...turns.values()].reduce((a, b) => a + b, 0);
      console.log(
        `load on ${db.name}: ${total} turns in ${SECONDS} s, statuses ${JSON.stringify([...statuses])}`,
      );
      expect([...statuses.keys()]).toEqual([200]);
      expect(total).toBeGreaterThan(USERS);

      // Every turn stored exactly once: one user message and one reply per successful turn.
      const messages = t.app.get(DataSource).getRepository(Message);
      for (const u of users) {
        expect(await messages.countBy({ userId: u.id, role: 'user' })).toBe(turns.get(u.id));
        expect(await messages.countBy({ userId: u.id, role: 'assistant' })).toBe(turns.get(u.id));
      }
      // Every extraction job completes (done jobs leave the queue; none failed).
      const jobs = t.app.get(DataSource).getRepository(MemoryJob);
      await eventually(
        async () => (await jobs.count()) === 0,
        'the extraction backlog to drain',
        120_000,
      );

      // RSS levels off: the last third of the run grows little over the middle third.
      const third = Math.floor(rss.length / 3);
      const middle = Math.max(...rss.slice(third, 2 * third));
      const last = Math.max(...rss.slice(2 * third));
      console.log(
        `load on ${db.name}: RSS middle ${Math.round(middle / 2 ** 20)} MiB, end ${Math.round(last / 2 ** 20)} MiB`,
      );
      expect(last).toBeLessThan(middle * 1.5);
    },
    (SECONDS + 180) * 1000,
  );
});
