import {
  ChatMessage,
  Completion,
  CompletionOptions,
  LlmClient,
  MemoryRecord,
  MemoryStore,
  NOT_CONFIGURED_MESSAGE,
} from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { ChatSession, isUniqueViolation, Message } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { SessionsService, titleFromMessage } from '../sessions/sessions.service';
import { ChatRepository } from './chat.repository';
import { ChatRequestDto, ChatResponseDto, MemoryStatus } from './dto/chat.dto';
import { buildPrompt } from './prompt';

/**
 * What a turn is made of, whichever route asked for it. `/api/v1/chat` builds it from the
 * session's stored history; the OpenAI-compatible route from the conversation its client replays.
 */
export interface TurnSpec {
  userId: string;
  /** The user's message: stored in the session, and later read by extraction with the reply. */
  text: string;
  /**
   * Where the turn goes: an existing session of the user (404 otherwise), a new one, or the
   * session the client names with its own key (made with this first message when it has none).
   */
  session: { id: string } | { newTitle: string; clientKey?: string };
  /** What memory is searched with. */
  recallQuery: string;
  /** How many stored messages of the session the prompt needs (0: none are read). */
  historyWindow: number;
  /** The model's input, from the recalled memories and the session's stored history. */
  prompt: (memories: MemoryRecord[], history: Message[]) => ChatMessage[];
  options?: CompletionOptions;
}

/** A turn up to the model call: the user message is stored and the prompt is ready. */
interface PreparedTurn {
  /** The session the turn is in (owner and id: every message of the turn names both). */
  session: Pick<ChatSession, 'id' | 'userId'>;
  userMessage: Message;
  memories: MemoryRecord[];
  memoryStatus: MemoryStatus;
  prompt: ChatMessage[];
  options?: CompletionOptions;
}

/** A stored turn: its session, the stored reply, the model's answer and what was recalled. */
export interface TurnResult {
  sessionId: string;
  reply: Message;
  completion: Completion;
  memories: MemoryRecord[];
  memoryStatus: MemoryStatus;
}

export interface StreamedTurn<T = ChatResponseDto> {
  deltas: AsyncIterable<string>;
  /**
   * Stores the reply: the whole of it once the stream completed (even if empty), or after a
   * failure or a disconnect what arrived, if anything did (null then).
   */
  finish(completed: boolean): Promise<T | null>;
}

/** How often a turn looks for its client-named session again after losing a race for it. */
const CLIENT_SESSION_ATTEMPTS = 3;

@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmClient,
    private readonly memory: MemoryStore,
    private readonly sessions: SessionsService,
    private readonly repository: ChatRepository,
  ) {}

  async turn(userId: string, request: ChatRequestDto): Promise<ChatResponseDto> {
    return toResponse(await this.exchange(this.restTurn(userId, request)));
  }

  /** Fails as an ordinary error until the model has accepted the request. */
  async streamTurn(
    userId: string,
    request: ChatRequestDto,
    signal: AbortSignal,
  ): Promise<StreamedTurn> {
    const streamed = await this.streamExchange(this.restTurn(userId, request), signal);
    return {
      deltas: streamed.deltas,
      finish: async (completed) => {
        const result = await streamed.finish(completed);
        return result && toResponse(result);
      },
    };
  }

  /** A turn of any route: recall, store the question, ask the model, store the reply. */
  async exchange(spec: TurnSpec): Promise<TurnResult> {
    const turn = await this.prepare(spec);
    const completion = await this.llm.complete(turn.prompt, undefined, turn.options);
    return this.finish(turn, completion);
  }

  /** The same, streamed; fails as an ordinary error until the model has accepted the request. */
  async streamExchange(
    spec: TurnSpec,
    signal: AbortSignal,
  ): Promise<StreamedTurn<TurnResult> & { sessionId: string }> {
    const turn = await this.prepare(spec);
    const stream = await this.llm.stream(turn.prompt, signal, turn.options);
    return {
      sessionId: turn.session.id,
      deltas: stream.deltas,
      finish: async (completed) => {
        const completion = stream.completion();
        return completed || completion.content ? this.finish(turn, completion) : null;
      },
    };
  }

  /** `/api/v1/chat`: the message, the session's stored history, memories found with the message. */
  private restTurn(userId: string, request: ChatRequestDto): TurnSpec {
    const text = this.validMessage(request.message);
    const { historyWindow, systemPrompt } = this.config.chat;
    return {
      userId,
      text,
      session: request.session_id
        ? { id: request.session_id }
        : { newTitle: titleFromMessage(text) },
      recallQuery: text,
      historyWindow,
      prompt: (memories, history) => buildPrompt(systemPrompt, memories, history, text),
    };
  }

  private async prepare(spec: TurnSpec): Promise<PreparedTurn> {
    if (!this.llm.configured)
      throw new DomainError(ErrorCode.ModelNotConfigured, NOT_CONFIGURED_MESSAGE);
    const { userId, historyWindow } = spec;
    // Recall needs only the user and the text: its embedding call runs while the database works.
    // It never rejects, so an unknown session (404) leaves no unhandled promise behind.
    const recalling = this.recall(userId, spec.recallQuery);
    const { session, userMessage } = await this.storeQuestion(spec);
    const [recalled, recent] = await Promise.all([
      recalling,
      this.sessions.recentMessages(session.id, historyWindow + 1),
    ]);
    const history = recent
      .filter((m) => m.id !== userMessage.id)
      .slice(-historyWindow || recent.length);
    return {
      session,
      userMessage,
      ...recalled,
      prompt: spec.prompt(recalled.memories, historyWindow ? history : []),
      options: spec.options,
    };
  }

  /**
   * A new session is written together with its first message, in one transaction; an existing
   * one is found (or not: 404) by that transaction's update of its activity time. A session the
   * client names is looked up by its key; when two turns make it at once, or it is deleted
   * between the lookup and the write, the turn looks again.
   */
  private async storeQuestion(
    spec: TurnSpec,
  ): Promise<{ session: PreparedTurn['session']; userMessage: Message }> {
    const { userId } = spec;
    for (let attempt = 1; ; attempt += 1) {
      const choice = spec.session;
      const clientKey = 'clientKey' in choice ? choice.clientKey : undefined;
      const existingId =
        'id' in choice
          ? choice.id
          : clientKey && (await this.sessions.findIdByClientKey(userId, clientKey));
      const draft =
        existingId || 'id' in choice ? undefined : this.sessions.draft(userId, choice.newTitle);
      const newSession = draft && clientKey ? { ...draft, clientKey } : draft;
      const session = newSession ?? { id: existingId as string, userId };
      const userMessage = newMessage(session, 'user', spec.text, new Date());
      try {
        await this.repository.saveQuestion(userMessage, newSession);
        return { session, userMessage };
      } catch (error) {
        const lostRace =
          clientKey !== undefined &&
          attempt < CLIENT_SESSION_ATTEMPTS &&
          (isUniqueViolation(error) ||
            (error instanceof DomainError && error.code === ErrorCode.SessionNotFound));
        if (!lostRace) throw error;
      }
    }
  }

  /** Memory retrieval must not fail the turn: without it the bot answers from the conversation. */
  private async recall(
    userId: string,
    text: string,
  ): Promise<{ memories: MemoryRecord[]; memoryStatus: MemoryStatus }> {
    const limit = this.config.chat.memoryLimit;
    if (limit === 0) return { memories: [], memoryStatus: 'disabled' };
    try {
      return { memories: await this.memory.search(userId, text, limit), memoryStatus: 'ok' };
    } catch (error) {
      this.logger.warn({ err: error }, 'Memory retrieval failed; answering without memories');
      return { memories: [], memoryStatus: 'unavailable' };
    }
  }

  private async finish(turn: PreparedTurn, completion: Completion): Promise<TurnResult> {
    // Strictly after the user's message, so "oldest first" never puts a reply before its question.
    const at = new Date(Math.max(Date.now(), turn.userMessage.createdAt.getTime() + 1));
    const reply: Message = {
      ...newMessage(turn.session, 'assistant', completion.content, at),
      model: completion.model,
      promptTokens: completion.usage.promptTokens,
      completionTokens: completion.usage.completionTokens,
      latencyMs: completion.latencyMs,
    };
    await this.saveReply(turn, reply);
    return {
      sessionId: turn.session.id,
      reply,
      completion,
      memories: turn.memories,
      memoryStatus: turn.memoryStatus,
    };
  }

  /** The reply and its extraction job; when the database stays busy, the question goes too. */
  private async saveReply(turn: PreparedTurn, reply: Message): Promise<void> {
    const job = {
      id: randomUUID(),
      userId: turn.session.userId,
      sessionId: turn.session.id,
      messageId: turn.userMessage.id,
      replyId: reply.id,
    };
    try {
      await this.repository.saveReply(reply, job);
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.DatabaseBusy) {
        await this.repository
          .withdrawQuestion(turn.userMessage)
          .catch((e: unknown) =>
            this.logger.error(
              { err: e, message_id: turn.userMessage.id },
              'Could not withdraw a question',
            ),
          );
      }
      throw error;
    }
  }

  private validMessage(message: string): string {
    const problem = messageProblem(message, this.config.limits.maxMessageChars);
    if (problem) throw new DomainError(ErrorCode.ValidationFailed, `message ${problem}`);
    return message;
  }
}

/** Why a user's message cannot be taken (blank, or past MAX_MESSAGE_CHARS code points). */
export function messageProblem(message: string, maxChars: number): string | undefined {
  if (message.trim().length === 0) return 'must not be blank';
  if ([...message].length > maxChars) return `must be at most ${maxChars} characters`;
  return undefined;
}

function toResponse(result: TurnResult): ChatResponseDto {
  const { reply, completion } = result;
  return {
    session_id: result.sessionId,
    message_id: reply.id,
    response: reply.content,
    memories_used: result.memories.map((m) => ({
      id: m.id,
      memory: m.memory,
      score: m.score ?? null,
    })),
    usage: {
      prompt_tokens: completion.usage.promptTokens,
      completion_tokens: completion.usage.completionTokens,
    },
    created_at: reply.createdAt.toISOString(),
    memory_status: result.memoryStatus,
  };
}

function newMessage(
  session: PreparedTurn['session'],
  role: Message['role'],
  content: string,
  createdAt: Date,
): Message {
  return {
    id: randomUUID(),
    sessionId: session.id,
    userId: session.userId,
    role,
    content,
    model: null,
    promptTokens: null,
    completionTokens: null,
    latencyMs: null,
    createdAt,
  };
}
