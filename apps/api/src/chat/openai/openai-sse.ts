import { Completion } from '@app/ai';
import { DomainError, ErrorCode, errorBody, openAiErrorBody } from '@app/common';
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

import { openSse, sseJson } from '../sse';
import type { StreamedAnswer } from './completions.service';

interface ChunkBase {
  id: string;
  created: number;
  model: string;
}

/**
 * Writes a streamed answer as OpenAI does: `data:` lines of `chat.completion.chunk` (the role
 * first, then the content deltas, then the finish reason, then, when asked, the usage in a chunk
 * without choices) and `data: [DONE]`. A failure after the stream started is one `data:` line in
 * OpenAI's error shape, which the SDKs raise as an APIError; the turn keeps what arrived.
 */
export async function writeChunks(
  reply: FastifyReply,
  answer: StreamedAnswer,
  base: ChunkBase,
  includeUsage: boolean,
  clientGone: AbortSignal,
): Promise<void> {
  const res = openSse(reply);
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (delta: object, finishReason: string | null) =>
    send(res, {
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usageField,
    });
  let storing = false;
  try {
    chunk({ role: 'assistant', content: '' }, null);
    for await (const content of answer.deltas) chunk({ content }, null);
    storing = true;
    const completion = (await answer.finish(true)) as Completion;
    chunk({}, completion.finishReason);
    if (includeUsage) {
      const { promptTokens, completionTokens } = completion.usage;
      send(res, {
        ...base,
        object: 'chat.completion.chunk',
        choices: [],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      });
    }
    if (!res.writableEnded && !res.destroyed) res.write('data: [DONE]\n\n');
  } catch (error) {
    if (!storing) await answer.finish(false).catch(() => undefined);
    if (!clientGone.aborted) send(res, failure(error));
  } finally {
    res.end();
  }
}

function failure(error: unknown): object {
  const known = error instanceof DomainError;
  const body = known
    ? errorBody(error.code, error.message)
    : errorBody(ErrorCode.ModelFailed, 'The answer was interrupted; try again');
  return openAiErrorBody(body);
}

function send(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`data: ${sseJson(data)}\n\n`);
}
