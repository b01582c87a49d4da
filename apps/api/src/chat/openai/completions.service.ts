import { ChatMessage, Completion, CompletionOptions, LlmClient } from '@app/ai';
import { AuthenticatedUser, canonicalUuid, DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';

import { titleFromMessage } from '../../sessions/sessions.service';
import { ChatService, messageProblem, TurnResult, TurnSpec } from '../chat.service';
import { memoryBlock } from '../prompt';
import { ChatCompletionRequestDto, TextPart } from './openai.dto';

/** Front ends' own housekeeping requests (Open WebUI's titles, tags, follow-ups) begin so. */
const TASK_PROMPT = /^\s*### Task:/;
/** A client's name for its conversation: Open WebUI's chat ids are UUIDs, `local:…` for temporary chats. */
const CLIENT_CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What the route answers with, whichever way the answer was made. */
export interface Answer {
  completion: Completion;
  /** The session the turn was stored in; undefined when it was not remembered. */
  sessionId?: string;
}

/** A started streamed answer: iterate `deltas`, then `finish` (see StreamedTurn). */
export interface StreamedAnswer {
  sessionId?: string;
  deltas: AsyncIterable<string>;
  finish(completed: boolean): Promise<Completion | null>;
}

/**
 * OpenAI's chat completions with this backend's memory. The client replays the whole
 * conversation each time; memories are recalled with its latest user message (and the one
 * before), given to the model as the same delimited data block as on /api/v1/chat, and only the
 * new turn (that message and the reply) is stored in a session, so extraction never reads the
 * replayed history again. Requests that are not conversation are answered and not remembered.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmClient,
    private readonly chat: ChatService,
  ) {}

  /** The id GET /v1/models lists, and the only one POST /v1/chat/completions serves. */
  get modelId(): string {
    return this.llm.modelName;
  }

  async complete(
    caller: AuthenticatedUser,
    request: ChatCompletionRequestDto,
    headers: IncomingHttpHeaders,
  ): Promise<Answer> {
    const spec = this.turnFor(caller, request, headers);
    if (!spec) {
      const completion = await this.llm.complete(
        upstreamMessages(request),
        undefined,
        options(request),
      );
      return { completion };
    }
    const result = await this.chat.exchange(spec);
    return { completion: completionOf(result), sessionId: result.sessionId };
  }

  /** Fails as an ordinary error until the model has accepted the request. */
  async stream(
    caller: AuthenticatedUser,
    request: ChatCompletionRequestDto,
    headers: IncomingHttpHeaders,
    signal: AbortSignal,
  ): Promise<StreamedAnswer> {
    const spec = this.turnFor(caller, request, headers);
    if (!spec) {
      const stream = await this.llm.stream(upstreamMessages(request), signal, options(request));
      return {
        deltas: stream.deltas,
        finish: (completed) => Promise.resolve(completed ? stream.completion() : null),
      };
    }
    const turn = await this.chat.streamExchange(spec, signal);
    return {
      sessionId: turn.sessionId,
      deltas: turn.deltas,
      finish: async (completed) => {
        const result = await turn.finish(completed);
        return result && completionOf(result);
      },
    };
  }

  /**
   * The turn to remember, or undefined for a request that is not conversation: the latest
   * message is not the user's, the client said `X-Memory: off`, or it is a front end's task
   * prompt (a title, tags). Checks the model first: a model this backend does not serve is 404.
   */
  private turnFor(
    caller: AuthenticatedUser,
    request: ChatCompletionRequestDto,
    headers: IncomingHttpHeaders,
  ): TurnSpec | undefined {
    if (request.model !== this.modelId) {
      throw new DomainError(
        ErrorCode.ModelNotFound,
        `The model '${request.model}' does not exist; GET /v1/models lists the one served here`,
        undefined,
        { param: 'model' },
      );
    }
    const users = request.messages.filter((m) => m.role === 'user').map((m) => textOf(m.content));
    const latest = request.messages[request.messages.length - 1];
    const text = latest.role === 'user' ? textOf(latest.content) : undefined;
    const memoryOff = headerValue(headers, 'x-memory')?.toLowerCase() === 'off';
    if (text === undefined || memoryOff || TASK_PROMPT.test(text)) return undefined;
    const problem = messageProblem(text, this.config.limits.maxMessageChars);
    if (problem) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `The latest user message ${problem}`,
        undefined,
        { param: 'messages' },
      );
    }
    const previous = users.length > 1 ? users[users.length - 2] : undefined;
    const { systemPrompt } = this.config.chat;
    const conversation = upstreamMessages(request);
    return {
      userId: caller.id,
      text,
      session: sessionChoice(caller, headers, text),
      // A short follow-up ("and her sister?") finds little alone: the question before helps.
      recallQuery: previous === undefined ? text : `${previous}\n${text}`,
      historyWindow: 0,
      prompt: (memories) => [
        { role: 'system', content: systemPrompt },
        ...(memories.length > 0 ? [{ role: 'user' as const, content: memoryBlock(memories) }] : []),
        ...conversation,
      ],
      options: options(request),
    };
  }
}

/**
 * The session a turn goes to: `X-Session-Id` (one of the caller's sessions), else the client's
 * conversation id (`X-OpenWebUI-Chat-Id`, `X-Conversation-Id`), else one session per API key
 * (or per login token holder) and UTC day.
 */
function sessionChoice(
  caller: AuthenticatedUser,
  headers: IncomingHttpHeaders,
  text: string,
): TurnSpec['session'] {
  const sessionId = headerValue(headers, 'x-session-id');
  if (sessionId !== undefined) {
    const id = canonicalUuid(sessionId);
    if (id === null)
      throw new DomainError(
        ErrorCode.ValidationFailed,
        'X-Session-Id must be a session id (a UUID)',
      );
    return { id };
  }
  const newTitle = titleFromMessage(text);
  for (const [header, namespace] of [
    ['x-openwebui-chat-id', 'openwebui'],
    ['x-conversation-id', 'conversation'],
  ] as const) {
    const value = headerValue(headers, header);
    if (value === undefined) continue;
    if (!CLIENT_CONVERSATION_ID.test(value)) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `${header} must be 1 to 128 letters, digits, '.', '_', ':' or '-'`,
      );
    }
    return { newTitle, clientKey: `${namespace}:${value}` };
  }
  const day = new Date().toISOString().slice(0, 10);
  const holder = caller.apiKeyId === undefined ? 'token' : `key:${caller.apiKeyId}`;
  return { newTitle, clientKey: `day:${holder}:${day}` };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** The conversation as the model gets it: text only, `developer` as `system`. */
function upstreamMessages(request: ChatCompletionRequestDto): ChatMessage[] {
  return request.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: textOf(m.content),
  }));
}

function textOf(content: string | TextPart[] | null): string {
  if (content === null || content === undefined) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

function options(request: ChatCompletionRequestDto): CompletionOptions {
  const chosen: CompletionOptions = {};
  if (request.temperature != null) chosen.temperature = request.temperature;
  if (request.top_p != null) chosen.top_p = request.top_p;
  if (request.max_tokens != null) chosen.max_tokens = request.max_tokens;
  if (request.max_completion_tokens != null)
    chosen.max_completion_tokens = request.max_completion_tokens;
  if (request.stop != null) chosen.stop = request.stop;
  return chosen;
}

function completionOf(result: TurnResult): Completion {
  return { ...result.completion, content: result.reply.content };
}
