import { Completion, LlmClient, MemoryRecord, MemoryStore } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { ChatSession, Message } from '@app/database';
import { Logger } from '@nestjs/common';

import {
  configWith,
  fakeMemoryStore,
  messageRow,
  sessionRow,
} from '../../../../test/support/builders';
import { SessionsService } from '../sessions/sessions.service';
import { ChatRepository } from './chat.repository';
import { ChatService } from './chat.service';
import { MEMORY_BLOCK_OPEN } from './prompt';

const USER = '11111111-1111-4111-8111-111111111111';
const SESSION = '22222222-2222-4222-8222-222222222222';

const completion = (content: string): Completion => ({
  content,
  model: 'test-model',
  usage: { promptTokens: 11, completionTokens: 3 },
  latencyMs: 42,
  finishReason: 'stop',
});

const memory = (text: string, createdAt?: string): MemoryRecord => ({
  id: `m-${text}`,
  memory: text,
  score: 0.5,
  createdAt,
  metadata: {},
});

const earlier = (role: Message['role'], content: string, id: string) =>
  messageRow({ id, sessionId: SESSION, userId: USER, role, content });

function setUp(chat: Partial<AppConfig['chat']> = {}, configured = true) {
  const config = configWith({
    chat: { systemPrompt: 'SYSTEM', historyWindow: 2, memoryLimit: 5, ...chat },
    limits: { maxMessageChars: 20 },
  });
  const llm = {
    configured,
    complete: jest.fn().mockResolvedValue(completion('Hello back')),
    stream: jest.fn(),
  };
  const memory = fakeMemoryStore();
  const drafted = sessionRow({ id: 'new-session', userId: USER, title: 'Hi' });
  const sessions = {
    draft: jest.fn().mockReturnValue(drafted),
    recentMessages: jest.fn().mockResolvedValue([]),
  };
  const repository = {
    saveQuestion: jest.fn().mockResolvedValue(undefined),
    saveReply: jest.fn().mockResolvedValue(undefined),
    withdrawQuestion: jest.fn().mockResolvedValue(undefined),
  };
  const service = new ChatService(
    config,
    llm as unknown as LlmClient,
    memory as unknown as MemoryStore,
    sessions as unknown as SessionsService,
    repository as unknown as ChatRepository,
  );
  return { service, llm, memory, sessions, repository, drafted };
}

// Failures these tests provoke are logged on purpose.
beforeAll(() => Logger.overrideLogger(false));

describe('ChatService', () => {
  it('creates the session with the first message, and stores the reply after its question', async () => {
    const { service, repository, sessions, drafted } = setUp();
    const answer = await service.turn(USER, { message: 'Hi' });
    expect(sessions.draft).toHaveBeenCalledWith(USER, 'Hi');
    const [question, newSession] = repository.saveQuestion.mock.calls[0] as [Message, ChatSession];
    expect(newSession).toBe(drafted);
    expect(question).toMatchObject({ role: 'user', content: 'Hi', sessionId: 'new-session' });
    const [reply, job] = repository.saveReply.mock.calls[0] as [Message, Record<string, string>];
    expect(reply).toMatchObject({
      role: 'assistant',
      content: 'Hello back',
      model: 'test-model',
      promptTokens: 11,
      completionTokens: 3,
      latencyMs: 42,
    });
    expect(reply.createdAt.getTime()).toBeGreaterThan(question.createdAt.getTime());
    expect(job).toMatchObject({
      userId: USER,
      sessionId: 'new-session',
      messageId: question.id,
      replyId: reply.id,
    });
    expect(answer).toEqual({
      session_id: 'new-session',
      message_id: reply.id,
      response: 'Hello back',
      memories_used: [],
      usage: { prompt_tokens: 11, completion_tokens: 3 },
      created_at: reply.createdAt.toISOString(),
      memory_status: 'ok',
    });
  });

  it('sends the system prompt, the memories as data, the history window and the message', async () => {
    const { service, llm, memory: store, sessions, repository } = setUp();
    store.search.mockResolvedValue([
      memory('I live in Lisbon.', '2026-01-05T10:00:00.000Z'),
      memory('I moved to Berlin.', '2026-03-01T10:00:00.000Z'),
    ]);
    sessions.recentMessages.mockImplementation(() => {
      const question = (repository.saveQuestion.mock.calls[0] as [Message])[0];
      return Promise.resolve([
        earlier('user', 'first', 'a'),
        earlier('assistant', 'first answer', 'b'),
        question,
      ]);
    });
    const answer = await service.turn(USER, { message: 'Where?', session_id: SESSION });
    expect(sessions.draft).not.toHaveBeenCalled();
    expect(repository.saveQuestion.mock.calls[0][1]).toBeUndefined();
    expect(sessions.recentMessages).toHaveBeenCalledWith(SESSION, 3);
    const prompt = llm.complete.mock.calls[0][0] as { role: string; content: string }[];
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'user', 'assistant', 'user']);
    expect(prompt[0].content).toBe('SYSTEM');
    // Dated, newest first, whatever order recall found them in.
    expect(prompt[1].content).toContain(
      `${MEMORY_BLOCK_OPEN}\n[{"date":"2026-03-01","fact":"I moved to Berlin."},` +
        `{"date":"2026-01-05","fact":"I live in Lisbon."}]\n`,
    );
    expect(prompt.slice(2).map((m) => m.content)).toEqual(['first', 'first answer', 'Where?']);
    expect(answer.memories_used).toEqual([
      { id: 'm-I live in Lisbon.', memory: 'I live in Lisbon.', score: 0.5 },
      { id: 'm-I moved to Berlin.', memory: 'I moved to Berlin.', score: 0.5 },
    ]);
  });

  it('answers without memories, and says so, when recall fails or is off', async () => {
    const failing = setUp();
    failing.memory.search.mockRejectedValue(new Error('vector store down'));
    expect((await failing.service.turn(USER, { message: 'Hi' })).memory_status).toBe('unavailable');
    const off = setUp({ memoryLimit: 0 });
    expect((await off.service.turn(USER, { message: 'Hi' })).memory_status).toBe('disabled');
    expect(off.memory.search).not.toHaveBeenCalled();
  });

  it.each([
    ['no model configured', { message: 'Hi' }, false, ErrorCode.ModelNotConfigured],
    ['a blank message', { message: '  \n ' }, true, ErrorCode.ValidationFailed],
    [
      'a message over MAX_MESSAGE_CHARS',
      { message: 'x'.repeat(21) },
      true,
      ErrorCode.ValidationFailed,
    ],
  ])('refuses %s before anything is stored or recalled', async (_name, body, configured, code) => {
    const { service, repository, memory: store, llm } = setUp({}, configured);
    await expect(service.turn(USER, body)).rejects.toMatchObject({ code });
    expect(repository.saveQuestion).not.toHaveBeenCalled();
    expect(store.search).not.toHaveBeenCalled();
    expect(llm.complete).not.toHaveBeenCalled();
  });

  it('counts message length in code points: an emoji counts once', async () => {
    const { service } = setUp();
    await expect(service.turn(USER, { message: '😀'.repeat(20) })).resolves.toBeDefined();
  });

  it('keeps the question when the model fails (the client retries)', async () => {
    const { service, llm, repository } = setUp();
    llm.complete.mockRejectedValue(new DomainError(ErrorCode.ModelFailed, 'The model failed'));
    await expect(service.turn(USER, { message: 'Hi' })).rejects.toMatchObject({
      code: ErrorCode.ModelFailed,
    });
    expect(repository.saveQuestion).toHaveBeenCalled();
    expect(repository.saveReply).not.toHaveBeenCalled();
    expect(repository.withdrawQuestion).not.toHaveBeenCalled();
  });

  it('takes the question back when the reply cannot be stored because the database stays busy', async () => {
    const { service, repository } = setUp();
    repository.saveReply.mockRejectedValue(new DomainError(ErrorCode.DatabaseBusy, 'busy', 1));
    await expect(service.turn(USER, { message: 'Hi' })).rejects.toMatchObject({
      code: ErrorCode.DatabaseBusy,
    });
    const question = repository.saveQuestion.mock.calls[0][0] as Message;
    expect(repository.withdrawQuestion).toHaveBeenCalledWith(question);
  });

  it('leaves the question alone when the session vanished (its messages went with it)', async () => {
    const { service, repository } = setUp();
    repository.saveReply.mockRejectedValue(
      new DomainError(ErrorCode.SessionNotFound, 'Session not found'),
    );
    await expect(service.turn(USER, { message: 'Hi' })).rejects.toMatchObject({
      code: ErrorCode.SessionNotFound,
    });
    expect(repository.withdrawQuestion).not.toHaveBeenCalled();
  });

  describe('a streamed turn', () => {
    function streaming(content: string) {
      const set = setUp();
      set.llm.stream.mockResolvedValue({
        deltas: (async function* () {
          yield await Promise.resolve(content);
        })(),
        completion: () => completion(content),
      });
      return set;
    }

    it('stores the whole reply once the stream completed', async () => {
      const { service, repository } = streaming('Streamed');
      const turn = await service.streamTurn(USER, { message: 'Hi' }, new AbortController().signal);
      for await (const delta of turn.deltas) expect(delta).toBe('Streamed');
      const result = await turn.finish(true);
      expect(result?.response).toBe('Streamed');
      expect(repository.saveReply).toHaveBeenCalledTimes(1);
    });

    it('stores nothing when it broke before any text arrived, and an empty completed reply', async () => {
      const broken = streaming('');
      const turn = await broken.service.streamTurn(
        USER,
        { message: 'Hi' },
        new AbortController().signal,
      );
      expect(await turn.finish(false)).toBeNull();
      expect(broken.repository.saveReply).not.toHaveBeenCalled();
      const empty = streaming('');
      const done = await empty.service.streamTurn(
        USER,
        { message: 'Hi' },
        new AbortController().signal,
      );
      expect(await done.finish(true)).toMatchObject({ response: '' });
      expect(empty.repository.saveReply).toHaveBeenCalledTimes(1);
    });
  });
});
