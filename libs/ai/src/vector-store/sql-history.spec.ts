import { HistoryManagerFactory } from 'mem0ai/oss';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { migrateSqlTestDatabase, SQL_TEST_URL } from '../../../../test/support/sql-stores';
import { SqlHistoryManager } from './sql-history';

type History = Pick<
  SqlHistoryManager,
  'addHistory' | 'batchAddHistory' | 'getHistory' | 'saveMessages' | 'getLastMessages'
>;

/**
 * The SQL history beside mem0's own SQLiteManager (the reference): the same calls answer the
 * same, but for ids and clocks. Needs TEST_DATABASE_URL (MySQL/MariaDB), as in CI. Other spec
 * files share the database, so every memory id and scope here is new (and reset() is left to the
 * e2e suites, which own their database).
 */
(SQL_TEST_URL ? describe : describe.skip)('SqlHistoryManager (TEST_DATABASE_URL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sql-history-'));
  let ours: SqlHistoryManager;
  let reference: History & { close(): void };

  beforeAll(async () => {
    await migrateSqlTestDatabase(SQL_TEST_URL!);
    ours = new SqlHistoryManager({ url: SQL_TEST_URL! });
    reference = HistoryManagerFactory.create('sqlite', {
      provider: 'sqlite',
      config: { historyDbPath: join(dir, 'history.db') },
    }) as unknown as History & { close(): void };
  }, 120_000);
  afterAll(async () => {
    await ours.close();
    reference.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Rows without what differs by design: the row id (each store counts its own). */
  const comparable = (rows: Record<string, unknown>[]) => rows.map(({ id: _id, ...rest }) => rest);

  it('keeps a memory’s history newest first, single and batched, like SQLiteManager', async () => {
    const memoryId = randomUUID();
    for (const history of [ours, reference]) {
      await history.addHistory(memoryId, null, 'I live in Porto', 'ADD', '2026-01-01T10:00:00Z');
      await history.batchAddHistory([
        {
          memoryId,
          previousValue: 'I live in Porto',
          newValue: 'I live in Lisbon',
          action: 'UPDATE',
          createdAt: '2026-01-01T10:00:00Z',
          updatedAt: '2026-02-01T10:00:00Z',
        },
        {
          memoryId,
          previousValue: 'I live in Lisbon',
          newValue: null,
          action: 'DELETE',
          updatedAt: '2026-03-01T10:00:00Z',
          isDeleted: 1,
        },
      ]);
    }
    const mine = (await ours.getHistory(memoryId)) as unknown as Record<string, unknown>[];
    const theirs = (await reference.getHistory(memoryId)) as unknown as Record<string, unknown>[];
    expect(mine.map((r) => r.action)).toEqual(['DELETE', 'UPDATE', 'ADD']);
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(typeof mine[0].id).toBe('number');
    expect(await ours.getHistory(randomUUID())).toEqual([]);
  });

  it('keeps the last ten messages of a scope, oldest first, like SQLiteManager', async () => {
    const user = randomUUID();
    const scope = `user_id=${user}`;
    const other = `agent_id=a1&user_id=${user}`;
    for (const history of [ours, reference]) {
      for (let turn = 0; turn < 7; turn++) {
        await history.saveMessages(
          [
            { role: 'user', content: `question ${turn}` },
            { role: 'assistant', content: `answer ${turn}`, name: 'bot' },
          ],
          scope,
        );
        // Distinct times between turns, as in real use (within a call they are equal).
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await history.saveMessages([{ role: 'user', content: 'elsewhere' }], other);
    }
    const mine = await ours.getLastMessages(scope);
    const theirs = await reference.getLastMessages(scope);
    const contents = (messages: { content: string }[]) => messages.map((m) => m.content);
    expect(contents(mine)).toEqual(contents(theirs));
    expect(contents(mine)).toEqual([
      'question 2',
      'answer 2',
      'question 3',
      'answer 3',
      'question 4',
      'answer 4',
      'question 5',
      'answer 5',
      'question 6',
      'answer 6',
    ]);
    expect(mine[1]).toEqual({
      role: 'assistant',
      content: 'answer 2',
      name: 'bot',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(contents(await ours.getLastMessages(scope, 3))).toEqual([
      'answer 5',
      'question 6',
      'answer 6',
    ]);
    expect(contents(await ours.getLastMessages(other))).toEqual(['elsewhere']);
  });

  it('erases one user’s history rows and messages in every scope, and nobody else’s', async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    const [aliceMemory, bobMemory] = [randomUUID(), randomUUID()];
    await ours.addHistory(aliceMemory, null, 'Alice text', 'ADD');
    await ours.addHistory(bobMemory, null, 'Bob text', 'ADD');
    for (const scope of [`user_id=${alice}`, `agent_id=x&run_id=y&user_id=${alice}`]) {
      await ours.saveMessages([{ role: 'user', content: 'from Alice' }], scope);
    }
    await ours.saveMessages([{ role: 'user', content: 'from Bob' }], `user_id=${bob}`);

    await ours.purgeMemories([aliceMemory]);
    await ours.purgeMessagesOf(alice);

    expect(await ours.getHistory(aliceMemory)).toEqual([]);
    expect(await ours.getLastMessages(`user_id=${alice}`)).toEqual([]);
    expect(await ours.getLastMessages(`agent_id=x&run_id=y&user_id=${alice}`)).toEqual([]);
    expect(await ours.getHistory(bobMemory)).toHaveLength(1);
    expect(await ours.getLastMessages(`user_id=${bob}`)).toHaveLength(1);
  });

  it('keeps ten messages when turns of one scope are saved concurrently', async () => {
    const scope = `user_id=${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        ours.saveMessages(
          [
            { role: 'user', content: `q${i}` },
            { role: 'assistant', content: `a${i}` },
          ],
          scope,
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await ours.getLastMessages(scope, 100)).toHaveLength(10);
  });
});
