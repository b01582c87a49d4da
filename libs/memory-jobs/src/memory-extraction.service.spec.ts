import { MemoryRecord, MemoryStore } from '@app/ai';
import { MemoryJob, Message } from '@app/database';
import { MessagesRepository } from '@app/messages';

import {
  configWith,
  fakeMemoryStore,
  memoryJobRow,
  messageRow,
} from '../../../test/support/builders';
import { FactConflictResolver } from './conflicts/fact-conflict.resolver';
import { ExtractionRefused, MemoryExtractionService } from './memory-extraction.service';

const USER = '11111111-1111-4111-8111-111111111111';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));

function job(n: number, attempts = 1): MemoryJob {
  return memoryJobRow({
    id: `job-${n}`,
    userId: USER,
    sessionId: 'session-1',
    messageId: `q${n}`,
    replyId: `a${n}`,
    status: 'running',
    attempts,
    lockedBy: 'w',
    runAt: at(n),
    createdAt: at(n),
    updatedAt: at(n),
  });
}

const message = (id: string, role: Message['role'], content: string) =>
  messageRow({ id, sessionId: 'session-1', userId: USER, role, content, createdAt: at(0) });

function setUp(stored: Message[], options: { count?: number; maxPerUser?: number } = {}) {
  const config = configWith({
    memoryJobs: { maxMemoriesPerUser: options.maxPerUser ?? 100, maxFactsPerTurn: 5 },
  });
  const store = fakeMemoryStore();
  store.count.mockResolvedValue(options.count ?? 0);
  const messages = { findByIdsForUser: jest.fn().mockResolvedValue(stored) };
  const conflicts = { resolve: jest.fn().mockResolvedValue(undefined) };
  const service = new MemoryExtractionService(
    config,
    store as unknown as MemoryStore,
    messages as unknown as MessagesRepository,
    conflicts as unknown as FactConflictResolver,
  );
  return { service, store, messages, conflicts };
}

const turn = (n: number) => [
  message(`q${n}`, 'user', `Q${n}`),
  message(`a${n}`, 'assistant', `A${n}`),
];

describe('MemoryExtractionService', () => {
  it('hands a batch of turns to Mem0 in one call, oldest first, with the lead job as source', async () => {
    const { service, store, messages } = setUp([...turn(2), ...turn(1)]);
    await service.extract([job(2), job(1)]);
    expect(messages.findByIdsForUser).toHaveBeenCalledWith(USER, ['q2', 'a2', 'q1', 'a1']);
    expect(store.add).toHaveBeenCalledTimes(1);
    const [userId, sent, source, maxFacts] = store.add.mock.calls[0] as [
      string,
      { role: string; content: string }[],
      Record<string, unknown>,
      number,
    ];
    expect(userId).toBe(USER);
    expect(sent.map((m) => m.content)).toEqual(['Q1', 'A1', 'Q2', 'A2']);
    expect(source).toEqual({
      session_id: 'session-1',
      message_id: 'q2',
      job_id: 'job-2',
      job_ids: ['job-2', 'job-1'],
    });
    expect(maxFacts).toBe(10);
  });

  it('weighs what Mem0 stored against the older memories, with the same source', async () => {
    const { service, store, conflicts } = setUp(turn(1));
    const stored: MemoryRecord[] = [{ id: 'm1', memory: 'Lives in Berlin', metadata: {} }];
    store.add.mockResolvedValue(stored);
    await service.extract([job(1)]);
    expect(conflicts.resolve).toHaveBeenCalledWith(USER, stored, {
      session_id: 'session-1',
      message_id: 'q1',
      job_id: 'job-1',
      job_ids: ['job-1'],
    });
  });

  it('learns nothing from a turn whose session was deleted (its messages are gone)', async () => {
    const { service, store } = setUp([]);
    await service.extract([job(1)]);
    expect(store.add).not.toHaveBeenCalled();
  });

  it('on a re-run first forgets what earlier attempts of these jobs stored', async () => {
    const { service, store } = setUp(turn(1));
    const learned = (id: string, metadata: Record<string, unknown>): MemoryRecord => ({
      id,
      memory: id,
      metadata,
    });
    store.list.mockResolvedValue([
      learned('from-this-job', { job_id: 'job-1' }),
      learned('from-a-batch', { job_id: 'job-0', job_ids: ['job-0', 'job-1'] }),
      learned('from-another-job', { job_id: 'job-9' }),
    ]);
    await service.extract([job(1, 2)]);
    expect(store.delete.mock.calls).toEqual([
      [USER, 'from-this-job'],
      [USER, 'from-a-batch'],
    ]);
    expect(store.add).toHaveBeenCalledTimes(1);
  });

  it('lets the turns add only what is left under MEMORY_MAX_PER_USER', async () => {
    const { service, store } = setUp(turn(1), { count: 97, maxPerUser: 100 });
    await service.extract([job(1)]);
    expect(store.count).toHaveBeenCalledWith(USER, 100);
    expect(store.add.mock.calls[0][3]).toBe(3);
  });

  it('refuses, for good and visibly, once the user holds MEMORY_MAX_PER_USER memories', async () => {
    const { service, store } = setUp(turn(1), { count: 100, maxPerUser: 100 });
    const refusal = service.extract([job(1)]);
    await expect(refusal).rejects.toBeInstanceOf(ExtractionRefused);
    await expect(refusal).rejects.toThrow('Memory is full (100 memories)');
    expect(store.add).not.toHaveBeenCalled();
  });

  it('does not count at all when the cap is off', async () => {
    const { service, store } = setUp(turn(1), { maxPerUser: 0 });
    await service.extract([job(1)]);
    expect(store.count).not.toHaveBeenCalled();
    expect(store.add.mock.calls[0][3]).toBe(5);
  });
});
