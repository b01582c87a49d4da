import { Completion, LlmClient, MemoryRecord, MemoryStore, NOT_CONFIGURED_MESSAGE } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { ChatSession, Message } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { SessionsService, titleFromMessage } from '../sessions/sessions.service';
import { ChatRepository } from './chat.repository';
import { ChatRequestDto, ChatResponseDto, MemoryStatus } from './dto/chat.dto';
import { buildPrompt } from './prompt';

/** A turn up to the model call: the user message is stored and the prompt is ready. */
interface PreparedTurn {
  /** The session the turn is in (owner and id: every message of the turn names both). */
  session: Pick<ChatSession, 'id' | 'userId'>;
  userMessage: Message;
  memories: MemoryRecord[];
  memoryStatus: MemoryStatus;
  prompt: ReturnType<typeof buildPrompt>;
}

export interface StreamedTurn {
  deltas: AsyncIterable<string>;
  /**
   * Stores the reply: the whole of it once the stream completed (even if empty), or after a
   * failure or a disconnect what arrived, if anything did (null then).
   */
  finish(completed: boolean): Promise<ChatResponseDto | null>;
}

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
    const turn = await this.prepare(userId, request);
    const completion = await this.llm.complete(turn.prompt);
    return this.finish(turn, completion);
  }

  /** Fails as an ordinary error until the model has accepted the request. */
  async streamTurn(
    userId: string,
    request: ChatRequestDto,
    signal: AbortSignal,
  ): Promise<StreamedTurn> {
    const turn = await this.prepare(userId, request);
    const stream = await this.llm.stream(turn.prompt, signal);
    return {
      deltas: stream.deltas,
      finish: async (completed) => {
        const completion = stream.completion();
        return completed || completion.content ? this.finish(turn, completion) : null;
      },
    };
  }

  private async prepare(userId: string, request: ChatRequestDto): Promise<PreparedTurn> {
    if (!this.llm.configured)
      throw new DomainError(ErrorCode.ModelNotConfigured, NOT_CONFIGURED_MESSAGE);
    const text = this.validMessage(request.message);
    // Recall needs only the user and the text: its embedding call runs while the database works.
    // It never rejects, so an unknown session (404) leaves no unhandled promise behind.
    const recalling = this.recall(userId, text);
    // A new session is written together with its first message, in one transaction; an existing
    // one is found (or not: 404) by that transaction's update of its activity time.
    const newSession = request.session_id
      ? undefined
      : this.sessions.draft(userId, titleFromMessage(text));
    const session = newSession ?? { id: request.session_id as string, userId };
    const userMessage = newMessage(session, 'user', text, new Date());
    await this.repository.saveQuestion(userMessage, newSession);
    const { historyWindow, systemPrompt } = this.config.chat;
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
      prompt: buildPrompt(systemPrompt, recalled.memories, historyWindow ? history : [], text),
    };
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

  private async finish(turn: PreparedTurn, completion: Completion): Promise<ChatResponseDto> {
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
      session_id: turn.session.id,
      message_id: reply.id,
      response: reply.content,
      memories_used: turn.memories.map((m) => ({
        id: m.id,
        memory: m.memory,
        score: m.score ?? null,
      })),
      usage: {
        prompt_tokens: completion.usage.promptTokens,
        completion_tokens: completion.usage.completionTokens,
      },
      created_at: at.toISOString(),
      memory_status: turn.memoryStatus,
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
    const max = this.config.limits.maxMessageChars;
    if (message.trim().length === 0) {
      throw new DomainError(ErrorCode.ValidationFailed, 'message must not be blank');
    }
    if ([...message].length > max) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `message must be at most ${max} characters`,
      );
    }
    return message;
  }
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
