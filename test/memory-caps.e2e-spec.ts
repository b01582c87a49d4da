import { TEST_DATABASES } from './support/databases';
import { bearer, chatTurn, eventually, registerUser, TestUser } from './support/test-app';
import { useApp } from './support/use-app';

const MEMORIES = '/api/v1/memories';

interface JobBody {
  status: string;
  attempts: number;
  last_error: string | null;
}

/**
 * One turn must not become hundreds of memories (a 7,939-character turn of 350 "I own gadget N"
 * lines became 352, each embedded), and one user must not grow without bound: at most
 * MEMORY_MAX_FACTS_PER_TURN new memories per turn, and once MEMORY_MAX_PER_USER is reached the
 * extraction is refused with a visible error instead of learning (or silently forgetting) more.
 */
describe.each(TEST_DATABASES)('memory caps on $name', (db) => {
  const t = useApp(db, {
    double: true,
    env: { MEMORY_MAX_FACTS_PER_TURN: '5', MEMORY_MAX_PER_USER: '8', MEMORY_JOB_BATCH_SIZE: '1' },
  });
  const { double } = t;

  const manyFacts = (turn: number) =>
    Array.from({ length: 40 }, (_, i) => `My gadget ${turn}-${i} is blue.`).join('\n');

  const chat = async (u: TestUser, message: string, sessionId?: string) =>
    (await chatTurn(t, u, message, sessionId)).session_id;

  const jobs = async (u: TestUser) =>
    (await t.http().get(`${MEMORIES}/jobs`).set(bearer(u.token)).expect(200)).body
      .items as JobBody[];
  const memoryCount = async (u: TestUser) =>
    (await t.http().get(`${MEMORIES}?limit=100`).set(bearer(u.token)).expect(200)).body
      .total as number;

  it('learns at most MEMORY_MAX_FACTS_PER_TURN facts from one turn, embedding only those', async () => {
    const u = await registerUser(t, 'facts');
    double.clear();
    await chat(u, manyFacts(1));
    await eventually(async () => (await jobs(u)).length === 0, 'the extraction to finish');
    expect(await memoryCount(u)).toBe(5);
    // The turn's two recall/extraction lookups, then one batch for the kept facts: never 40.
    const embedded = double.embeddingRequests().flatMap((r) => [r.input].flat());
    expect(
      embedded.filter((text) => /^My gadget 1-\d+ is blue\.$/.test(String(text))),
    ).toHaveLength(5);
  });

  it('stops learning at MEMORY_MAX_PER_USER with a visible, final job error', async () => {
    const u = await registerUser(t, 'full');
    const sessionId = await chat(u, manyFacts(1));
    await eventually(async () => (await jobs(u)).length === 0, 'the first extraction');
    await chat(u, manyFacts(2), sessionId);
    await eventually(async () => (await jobs(u)).length === 0, 'the second extraction');
    // 5, then only the 3 that still fit.
    expect(await memoryCount(u)).toBe(8);

    await chat(u, manyFacts(3), sessionId);
    const [refused] = await eventually(async () => {
      const listed = await jobs(u);
      return listed.some((j) => j.status === 'failed') && listed;
    }, 'the third extraction to be refused');
    expect(refused).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'Memory is full (8 memories): delete some to let the assistant learn new facts',
    });
    expect(await memoryCount(u)).toBe(8);
    // The chat itself goes on.
    await chat(u, 'Hello again', sessionId);
  });
});
