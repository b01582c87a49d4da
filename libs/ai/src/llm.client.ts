import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Completion {
  content: string;
  model: string;
  usage: Usage;
  latencyMs: number;
  /** The model's reason to stop (`stop`, `length`, …), `stop` when it gave none. */
  finishReason: string;
}

/** Sampling settings a client may choose (the OpenAI-compatible routes); the model is ours. */
export interface CompletionOptions {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
}

/** A started streamed completion: iterate `deltas`, then read `completion()`. */
export interface CompletionStream {
  deltas: AsyncIterable<string>;
  /** The whole answer; resolves after `deltas` is exhausted. */
  completion(): Completion;
}

const PING_TIMEOUT_MS = 3000;
export const NOT_CONFIGURED_MESSAGE =
  'No model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)';

/** The OpenAI-compatible chat model, behind one injectable seam. Errors become DomainErrors. */
@Injectable()
export class LlmClient {
  private readonly client?: OpenAI;
  private readonly model: string;
  private readonly timeoutMs: number;

  constructor(config: AppConfig) {
    const { apiKey, baseUrl, timeoutMs, maxRetries, model } = config.openai;
    this.model = model;
    this.timeoutMs = timeoutMs;
    if (apiKey !== undefined || baseUrl !== undefined) {
      // Local servers (Ollama, vLLM) need no key, but the SDK insists on one.
      this.client = new OpenAI({
        apiKey: apiKey ?? 'not-needed',
        baseURL: baseUrl,
        timeout: timeoutMs,
        maxRetries,
      });
    }
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  get modelName(): string {
    return this.model;
  }

  async complete(
    messages: ChatMessage[],
    signal?: AbortSignal,
    options: CompletionOptions = {},
  ): Promise<Completion> {
    return this.create(messages, signal, options);
  }

  /**
   * A completion in JSON mode (`response_format: json_object`): for the app's own structured
   * questions. The answer is still only text: any OpenAI-compatible server may ignore the mode.
   */
  completeJson(messages: ChatMessage[], signal?: AbortSignal): Promise<Completion> {
    return this.create(messages, signal, { response_format: { type: 'json_object' } });
  }

  private async create(
    messages: ChatMessage[],
    signal: AbortSignal | undefined,
    options: CompletionOptions & { response_format?: { type: 'json_object' } },
  ): Promise<Completion> {
    const client = this.requireClient();
    const started = performance.now();
    try {
      const response = await client.chat.completions.create(
        { ...options, model: this.model, messages },
        { signal },
      );
      return {
        content: response.choices[0]?.message?.content ?? '',
        model: response.model || this.model,
        usage: {
          promptTokens: response.usage?.prompt_tokens ?? 0,
          completionTokens: response.usage?.completion_tokens ?? 0,
        },
        latencyMs: Math.round(performance.now() - started),
        finishReason: response.choices[0]?.finish_reason ?? 'stop',
      };
    } catch (error) {
      throw toDomainError(error, this.failure(started, signal));
    }
  }

  /**
   * Resolves once the model has accepted the request, so that a failure before the first
   * token is still an ordinary HTTP error; later failures surface while iterating `deltas`.
   */
  async stream(
    messages: ChatMessage[],
    signal?: AbortSignal,
    options: CompletionOptions = {},
  ): Promise<CompletionStream> {
    const client = this.requireClient();
    const started = performance.now();
    // The SDK's timeout ends when the headers arrive; a stream that then stalls is cut here.
    const stalled = new AbortController();
    const abort = signal ? AbortSignal.any([signal, stalled.signal]) : stalled.signal;
    let stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    try {
      stream = await client.chat.completions.create(
        {
          ...options,
          model: this.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: abort },
      );
    } catch (error) {
      throw toDomainError(error, this.failure(started, signal));
    }
    const result: Completion = {
      content: '',
      model: this.model,
      usage: { promptTokens: 0, completionTokens: 0 },
      latencyMs: 0,
      finishReason: 'stop',
    };
    const failure = () => this.failure(started, signal);
    const idleMs = this.timeoutMs;
    async function* deltas(): AsyncGenerator<string> {
      let idle = setTimeout(() => stalled.abort(), idleMs);
      try {
        for await (const chunk of stream) {
          clearTimeout(idle);
          idle = setTimeout(() => stalled.abort(), idleMs);
          if (chunk.model) result.model = chunk.model;
          if (chunk.usage) {
            result.usage = {
              promptTokens: chunk.usage.prompt_tokens,
              completionTokens: chunk.usage.completion_tokens,
            };
          }
          const finishReason = chunk.choices[0]?.finish_reason;
          if (finishReason) result.finishReason = finishReason;
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            result.content += delta;
            yield delta;
          }
        }
        // The SDK ends the iteration quietly when its signal aborts: say why it ended.
        if (signal?.aborted) throw new APIUserAbortError();
        if (stalled.signal.aborted) throw new Error('stalled');
      } catch (error) {
        if (stalled.signal.aborted && !signal?.aborted) {
          throw new DomainError(ErrorCode.ModelTimeout, 'The model stopped answering; try again');
        }
        throw toDomainError(error, failure());
      } finally {
        clearTimeout(idle);
        result.latencyMs = Math.round(performance.now() - started);
      }
    }
    return { deltas: deltas(), completion: () => result };
  }

  /** True when the model endpoint answers a cheap request within a short timeout. */
  async ping(): Promise<boolean> {
    if (!this.client) return false;
    try {
      await this.client.models.list({ timeout: PING_TIMEOUT_MS, maxRetries: 0 });
      return true;
    } catch {
      return false;
    }
  }

  private failure(started: number, signal?: AbortSignal) {
    return { signal, elapsedMs: performance.now() - started, timeoutMs: this.timeoutMs };
  }

  private requireClient(): OpenAI {
    if (!this.client) throw new DomainError(ErrorCode.ModelNotConfigured, NOT_CONFIGURED_MESSAGE);
    return this.client;
  }
}

/**
 * Maps the SDK's errors to answers a client can show; aborts (client gone) pass through.
 * A timeout is the SDK aborting its own request: APIConnectionTimeoutError, or a connection error
 * once the timeout has elapsed (the SDK misclassifies an abort that comes from another realm).
 */
export function toDomainError(
  error: unknown,
  context: { signal?: AbortSignal; elapsedMs?: number; timeoutMs?: number } = {},
): unknown {
  const { signal, elapsedMs = 0, timeoutMs = Infinity } = context;
  if (error instanceof DomainError || error instanceof APIUserAbortError || signal?.aborted) {
    return error;
  }
  if (
    error instanceof APIConnectionTimeoutError ||
    (error instanceof APIConnectionError && elapsedMs >= timeoutMs)
  ) {
    return new DomainError(ErrorCode.ModelTimeout, 'The model did not answer in time; try again');
  }
  if (error instanceof APIConnectionError) {
    return new DomainError(
      ErrorCode.ModelFailed,
      'The model service could not be reached; try again',
    );
  }
  if (error instanceof APIError) {
    const status = typeof error.status === 'number' ? String(error.status) : 'unknown';
    return new DomainError(
      ErrorCode.ModelFailed,
      `The model service failed (status ${status}); try again`,
    );
  }
  return error;
}
