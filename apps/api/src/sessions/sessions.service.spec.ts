import { DomainError, ErrorCode } from '@app/common';
import { ChatSession } from '@app/database';
import { MessagesRepository } from '@app/messages';

import { messageRow, sessionRow } from '../../../../test/support/builders';
import { SessionsRepository } from './sessions.repository';
import { SessionsService, titleFromMessage } from './sessions.service';

const NOT_FOUND = new DomainError(ErrorCode.SessionNotFound, 'Session not found');

const session = sessionRow({
  id: 's1',
  userId: 'u1',
  title: 'Old',
  createdAt: new Date('2025-01-01T00:00:00.000Z'),
  updatedAt: new Date('2025-01-02T00:00:00.000Z'),
});

const message = (id: string) => messageRow({ id, sessionId: 's1', userId: 'u1', content: id });

describe('titleFromMessage', () => {
  it.each([
    ['a short message as it is', 'Hello there', 'Hello there'],
    ['the first non-blank line only', '\n  \nPlan my trip\nto Lisbon', 'Plan my trip'],
    ['whitespace collapsed and trimmed', '  What\tis   the\u00a0weather  ', 'What is the weather'],
    ['"New chat" for an empty message', '', 'New chat'],
    ['"New chat" for whitespace only', ' \n\t \r\n', 'New chat'],
  ])('takes %s', (_name, input, expected) => {
    expect(titleFromMessage(input)).toBe(expected);
  });

  it('keeps exactly 60 characters uncut', () => {
    const sixty = 'x'.repeat(60);
    expect(titleFromMessage(sixty)).toBe(sixty);
  });

  it('cuts a long line on a word boundary with an ellipsis, within 60 characters', () => {
    const words = 'Could you please help me plan a two week holiday in Portugal this summer';
    const title = titleFromMessage(words);
    expect(title).toBe('Could you please help me plan a two week holiday in…');
    expect(Array.from(title).length).toBeLessThanOrEqual(60);
  });

  it('cuts right after a word that ends at the limit', () => {
    const first = 'a'.repeat(59);
    expect(titleFromMessage(`${first} more words`)).toBe(`${first}…`);
  });

  it('hard-cuts one very long word', () => {
    expect(titleFromMessage('z'.repeat(100))).toBe(`${'z'.repeat(59)}…`);
  });

  it('never splits an emoji', () => {
    const title = titleFromMessage('😀'.repeat(70));
    expect(title).toBe(`${'😀'.repeat(59)}…`);
    expect(title).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('SessionsService', () => {
  let repo: Record<keyof SessionsRepository, jest.Mock>;
  let messages: Record<keyof MessagesRepository, jest.Mock>;
  let service: SessionsService;

  beforeEach(() => {
    repo = {
      findPageForUser: jest.fn().mockResolvedValue([[session], 1]),
      findForUser: jest.fn().mockResolvedValue(null),
      findByClientKey: jest.fn().mockResolvedValue(null),
      insert: jest.fn((s: ChatSession) => Promise.resolve(s)),
      updateForUser: jest.fn().mockResolvedValue(false),
      deleteForUser: jest.fn().mockResolvedValue(false),
      findAllForUser: jest.fn().mockResolvedValue([]),
      countSessionsByUser: jest.fn().mockResolvedValue(new Map()),
      findPageWithOwners: jest.fn().mockResolvedValue([[], 0]),
    };
    messages = {
      append: jest.fn(),
      deleteInSession: jest.fn(),
      countInSession: jest.fn().mockResolvedValue(0),
      findPageInSession: jest.fn().mockResolvedValue([[], 0]),
      findLastInSession: jest.fn().mockResolvedValue([]),
      findAllForUser: jest.fn().mockResolvedValue([]),
      findByIdsForUser: jest.fn().mockResolvedValue([]),
      countBySession: jest.fn().mockResolvedValue(new Map()),
      countByUser: jest.fn().mockResolvedValue(new Map()),
    };
    service = new SessionsService(
      repo as unknown as SessionsRepository,
      messages as unknown as MessagesRepository,
    );
  });

  describe('a session that is missing or not the caller’s is "not found"', () => {
    it.each([
      ['getForUser', (s: SessionsService) => s.getForUser('u1', 's1')],
      ['showForUser', (s: SessionsService) => s.showForUser('u1', 's1')],
      ['renameForUser', (s: SessionsService) => s.renameForUser('u1', 's1', 'New')],
      ['messagesForUser', (s: SessionsService) => s.messagesForUser('u1', 's1', 20, 0)],
      ['deleteForUser', (s: SessionsService) => s.deleteForUser('u1', 's1')],
    ])('%s', async (_name, call) => {
      await expect(call(service)).rejects.toThrow(NOT_FOUND);
      await expect(call(service)).rejects.toMatchObject({ code: ErrorCode.SessionNotFound });
      expect(messages.findPageInSession).not.toHaveBeenCalled();
    });

    it('looks the session up by owner and id together', async () => {
      await service.getForUser('u1', 's1').catch(() => undefined);
      expect(repo.findForUser).toHaveBeenCalledWith('u1', 's1');
    });
  });

  it('creates a session with a UUID, the trimmed title and equal timestamps', async () => {
    const created = await service.createForUser('u1', '  Trip  ');
    expect(created).toMatchObject({ userId: 'u1', title: 'Trip' });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.updatedAt).toEqual(created.createdAt);
  });

  it.each([undefined, '', '   '])('titles a session "New chat" given %p', async (title) => {
    expect((await service.createForUser('u1', title)).title).toBe('New chat');
  });

  it('renames and bumps updated_at in one conditional update, then answers what is stored', async () => {
    repo.updateForUser.mockResolvedValue(true);
    const stored = { ...session, title: 'New', updatedAt: new Date() };
    repo.findForUser.mockResolvedValue(stored);
    messages.countInSession.mockResolvedValue(3);
    const renamed = await service.renameForUser('u1', 's1', 'New');
    expect(renamed).toMatchObject({ id: 's1', title: 'New', message_count: 3 });
    expect(repo.updateForUser).toHaveBeenCalledWith('u1', 's1', {
      title: 'New',
      updatedAt: expect.any(Date),
    });
    const [, , changes] = repo.updateForUser.mock.calls[0] as [string, string, { updatedAt: Date }];
    expect(changes.updatedAt.getTime()).toBeGreaterThan(session.updatedAt.getTime());
  });

  it('a session deleted between the rename and the read is "not found"', async () => {
    repo.updateForUser.mockResolvedValue(true);
    await expect(service.renameForUser('u1', 's1', 'New')).rejects.toMatchObject({
      code: ErrorCode.SessionNotFound,
    });
  });

  it('lists with message counts from one grouped lookup', async () => {
    messages.countBySession.mockResolvedValue(new Map([['s1', 4]]));
    const page = await service.listForUser('u1', 20, 0);
    expect(page).toEqual({
      items: [
        {
          id: 's1',
          title: 'Old',
          created_at: '2025-01-01T00:00:00.000Z',
          updated_at: '2025-01-02T00:00:00.000Z',
          message_count: 4,
        },
      ],
      total: 1,
      limit: 20,
      offset: 0,
    });
    expect(messages.countBySession).toHaveBeenCalledTimes(1);
    expect(messages.countBySession).toHaveBeenCalledWith(['s1']);
  });

  it('recentMessages returns the last ones oldest first, and nothing for 0', async () => {
    messages.findLastInSession.mockResolvedValue([message('m3'), message('m2')]);
    expect((await service.recentMessages('s1', 2)).map((m) => m.id)).toEqual(['m2', 'm3']);
    expect(messages.findLastInSession).toHaveBeenCalledWith('s1', 2);
    messages.findLastInSession.mockClear();
    expect(await service.recentMessages('s1', 0)).toEqual([]);
    expect(messages.findLastInSession).not.toHaveBeenCalled();
  });

  it('counts per user with zeros for users without rows', async () => {
    repo.countSessionsByUser.mockResolvedValue(new Map([['u1', 2]]));
    messages.countByUser.mockResolvedValue(new Map([['u1', 5]]));
    const counts = await service.countsForUsers(['u1', 'u2']);
    expect(counts.get('u1')).toEqual({ sessionCount: 2, messageCount: 5 });
    expect(counts.get('u2')).toEqual({ sessionCount: 0, messageCount: 0 });
  });

  it('exports every session with its own messages, sessions without any included', async () => {
    const other = { ...session, id: 's2' };
    repo.findAllForUser.mockResolvedValue([session, other]);
    const stray = { ...message('m9'), sessionId: 'gone' };
    messages.findAllForUser.mockResolvedValue([message('m1'), stray, message('m2')]);
    expect(await service.exportForUser('u1')).toEqual([
      {
        session,
        messages: [message('m1'), message('m2')].map((m) => expect.objectContaining({ id: m.id })),
      },
      { session: other, messages: [] },
    ]);
    expect(repo.findAllForUser).toHaveBeenCalledWith('u1');
    expect(messages.findAllForUser).toHaveBeenCalledWith('u1');
  });

  it('lists every user’s sessions with one page query and one grouped count', async () => {
    const other = { ...session, id: 's2', userId: 'u2' };
    repo.findPageWithOwners.mockResolvedValue([[session, other], 7]);
    messages.countBySession.mockResolvedValue(new Map([['s1', 3]]));
    const page = await service.listAll({ userId: undefined }, 2, 4);
    expect(page).toEqual({
      items: [
        { session, messageCount: 3 },
        { session: other, messageCount: 0 },
      ],
      total: 7,
    });
    expect(repo.findPageWithOwners).toHaveBeenCalledWith({ userId: undefined }, 2, 4);
    expect(messages.countBySession).toHaveBeenCalledTimes(1);
    expect(messages.countBySession).toHaveBeenCalledWith(['s1', 's2']);
  });
});
