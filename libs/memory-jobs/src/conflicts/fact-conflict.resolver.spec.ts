import { LlmClient, MemoryRecord, MemorySource, MemoryStore } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';

import { configWith, fakeMemoryStore } from '../../../../test/support/builders';
import { ConflictQuestionBody } from './conflict-question';
import { CLOSE_MEMORIES_PER_FACT, FactConflictResolver } from './fact-conflict.resolver';
import { Logger } from '@nestjs/common';

const USER = '11111111-1111-4111-8111-111111111111';
const SOURCE: MemorySource = {
  session_id: 's2',
  message_id: 'q2',
  job_id: 'job-2',
  job_ids: ['job-2'],
};

const memory = (id: string, text: string): MemoryRecord => ({
  id,
  memory: text,
  createdAt: '2026-01-02T10:00:00.000Z',
  metadata: {},
});
const lisbon = memory('old-lisbon', 'Lives in Lisbon');
const berlin = memory('new-berlin', 'Lives in Berlin');
const chess = memory('new-chess', 'Likes chess');

const gone = () => new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');

function setUp(options: { enabled?: boolean; answer?: string; count?: number } = {}) {
  const config = configWith({
    memoryJobs: { resolveConflicts: options.enabled ?? true, conflictSimilarity: 0.4 },
  });
  const store = fakeMemoryStore();
  store.count.mockResolvedValue(options.count ?? 3);
  // Each fact finds itself, and Berlin finds Lisbon too.
  store.search.mockImplementation((_user: string, query: string) =>
    Promise.resolve(
      query === berlin.memory ? [berlin, lisbon] : query === chess.memory ? [chess] : [],
    ),
  );
  store.get.mockImplementation((_user: string, id: string) =>
    Promise.resolve([lisbon, berlin, chess].find((m) => m.id === id) ?? null),
  );
  const llm = {
    completeJson: jest.fn().mockResolvedValue({ content: options.answer ?? '{"decisions": []}' }),
  };
  const resolver = new FactConflictResolver(
    config,
    store as unknown as MemoryStore,
    llm as unknown as LlmClient,
  );
  return { resolver, store, llm };
}

const decide = (...decisions: object[]) => JSON.stringify({ decisions });

// Failures these tests provoke are logged on purpose.
beforeAll(() => Logger.overrideLogger(false));

describe('FactConflictResolver', () => {
  it('looks for close older memories of each new fact, above the similarity, without the new ones', async () => {
    const { resolver, store, llm } = setUp();
    await resolver.resolve(USER, [berlin, chess], SOURCE);
    expect(store.count).toHaveBeenCalledWith(USER, 3);
    expect(store.search.mock.calls).toEqual([
      [USER, 'Lives in Berlin', CLOSE_MEMORIES_PER_FACT + 2, 0.4],
      [USER, 'Likes chess', CLOSE_MEMORIES_PER_FACT + 2, 0.4],
    ]);
    expect(llm.completeJson).toHaveBeenCalledTimes(1);
    const body = JSON.parse(llm.completeJson.mock.calls[0][0][1].content) as ConflictQuestionBody;
    // Only the fact with a close memory is asked about.
    expect(body.new_facts).toEqual([{ id: 'N1', text: 'Lives in Berlin', close_to: ['E1'] }]);
  });

  it('asks nothing when no older memory is close', async () => {
    const { resolver, llm } = setUp();
    expect(await resolver.resolve(USER, [chess], SOURCE)).toMatchObject({ asked: false });
    expect(llm.completeJson).not.toHaveBeenCalled();
  });

  it('neither searches nor asks for a user’s first memories', async () => {
    const { resolver, store, llm } = setUp({ count: 2 });
    await resolver.resolve(USER, [berlin, chess], SOURCE);
    expect(store.search).not.toHaveBeenCalled();
    expect(llm.completeJson).not.toHaveBeenCalled();
  });

  it('does nothing when MEMORY_RESOLVE_CONFLICTS is off', async () => {
    const { resolver, store, llm } = setUp({ enabled: false });
    await resolver.resolve(USER, [berlin], SOURCE);
    expect(store.count).not.toHaveBeenCalled();
    expect(llm.completeJson).not.toHaveBeenCalled();
  });

  it('UPDATE: the old memory takes the new text and source, the new memory goes', async () => {
    const answer = decide({ fact: 'N1', event: 'UPDATE', memory: 'E1', text: 'Lives in Berlin' });
    const { resolver, store } = setUp({ answer });
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toEqual({
      asked: true,
      updated: 1,
      retired: 0,
      dropped: 0,
    });
    expect(store.update).toHaveBeenCalledWith(USER, 'old-lisbon', 'Lives in Berlin', SOURCE);
    expect(store.delete.mock.calls).toEqual([[USER, 'new-berlin']]);
    expect(store.update.mock.invocationCallOrder[0]).toBeLessThan(
      store.delete.mock.invocationCallOrder[0],
    );
  });

  it('DELETE: the old memory is retired, the new one’s history names its text (as it is now)', async () => {
    const { resolver, store } = setUp({
      answer: decide({ fact: 'N1', event: 'DELETE', memory: 'E1' }),
    });
    // Another job changed it since it was looked up.
    store.get.mockResolvedValue({ ...lisbon, memory: 'Lives in Lisbon, Alfama' });
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ retired: 1 });
    expect(store.delete.mock.calls).toEqual([[USER, 'old-lisbon']]);
    expect(store.recordHistory).toHaveBeenCalledWith(USER, 'new-berlin', {
      action: 'DELETE',
      previousValue: 'Lives in Lisbon, Alfama',
      newValue: 'Lives in Berlin',
    });
  });

  it('NONE: the new memory goes, while the one it repeats is there', async () => {
    const answer = decide({ fact: 'N1', event: 'NONE', memory: 'E1' });
    const { resolver, store } = setUp({ answer });
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ dropped: 1 });
    expect(store.delete.mock.calls).toEqual([[USER, 'new-berlin']]);

    const raced = setUp({ answer });
    raced.store.get.mockResolvedValue(null);
    expect(await raced.resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ dropped: 0 });
    expect(raced.store.delete).not.toHaveBeenCalled();
  });

  it('keeps the new fact when the old memory vanished meanwhile (deleted, or resolved by another job)', async () => {
    const update = setUp({
      answer: decide({ fact: 'N1', event: 'UPDATE', memory: 'E1' }),
    });
    update.store.update.mockRejectedValue(gone());
    expect(await update.resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ updated: 0 });
    expect(update.store.delete).not.toHaveBeenCalled();

    const retire = setUp({ answer: decide({ fact: 'N1', event: 'DELETE', memory: 'E1' }) });
    retire.store.delete.mockRejectedValue(gone());
    expect(await retire.resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ retired: 0 });
    expect(retire.store.recordHistory).not.toHaveBeenCalled();

    const retired = setUp({ answer: decide({ fact: 'N1', event: 'DELETE', memory: 'E1' }) });
    retired.store.get.mockResolvedValue(null);
    expect(await retired.resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ retired: 0 });
    expect(retired.store.delete).not.toHaveBeenCalled();
  });

  it('finishes when the new memory vanished meanwhile', async () => {
    const { resolver, store } = setUp({
      answer: decide({ fact: 'N1', event: 'DELETE', memory: 'E1' }),
    });
    store.recordHistory.mockRejectedValue(gone());
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ retired: 1 });
  });

  it('fails on any other store failure (the job is retried)', async () => {
    const { resolver, store } = setUp({
      answer: decide({ fact: 'N1', event: 'UPDATE', memory: 'E1' }),
    });
    store.update.mockRejectedValue(
      new DomainError(ErrorCode.MemoryStoreUnavailable, 'The memory store is unavailable'),
    );
    await expect(resolver.resolve(USER, [berlin], SOURCE)).rejects.toThrow('unavailable');
  });

  it.each([
    ['an answer it does not understand', 'not json'],
    ['an unknown event', decide({ fact: 'N1', event: 'MERGE', memory: 'E1' })],
    ['an unknown memory', decide({ fact: 'N1', event: 'DELETE', memory: 'E9' })],
  ])('keeps every new fact after %s', async (_name, answer) => {
    const { resolver, store } = setUp({ answer });
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toEqual({
      asked: true,
      updated: 0,
      retired: 0,
      dropped: 0,
    });
    expect(store.update).not.toHaveBeenCalled();
    expect(store.delete).not.toHaveBeenCalled();
  });

  it('keeps every new fact when the model call fails', async () => {
    const { resolver, store, llm } = setUp();
    llm.completeJson.mockRejectedValue(new DomainError(ErrorCode.ModelFailed, 'down'));
    expect(await resolver.resolve(USER, [berlin], SOURCE)).toMatchObject({ asked: true });
    expect(store.delete).not.toHaveBeenCalled();
  });
});
