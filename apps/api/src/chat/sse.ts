import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

import { ChatResponseDto } from './dto/chat.dto';
import { StreamedTurn } from './chat.service';

/**
 * Writes a streamed turn as Server-Sent Events: `delta` events, then `done` with the same object
 * as a non-streamed answer, or `error` if the model fails after the stream started. What arrived
 * is stored either way (also when the client goes away).
 */
export async function writeTurnAsSse(
  reply: FastifyReply,
  turn: StreamedTurn,
  clientGone: AbortSignal,
  errorMessage: (error: unknown) => string,
): Promise<void> {
  const res = openSse(reply);
  let storing = false;
  try {
    for await (const content of turn.deltas) send(res, 'delta', { content });
    storing = true;
    const result: ChatResponseDto | null = await turn.finish(true);
    send(res, 'done', result);
  } catch (error) {
    // The stream broke: keep what arrived. Storing itself failed (session gone, database busy):
    // trying again would store a reply whose question may have been taken back.
    if (!storing) await turn.finish(false).catch(() => undefined);
    if (!clientGone.aborted) send(res, 'error', { message: errorMessage(error) });
  } finally {
    res.end();
  }
}

/**
 * Hijacks the reply and starts an event stream on the raw response, with the headers already set
 * on the reply (CORS, and anything a decorator set) besides those on the raw response (helmet's,
 * X-Request-Id): Fastify sends nothing more for it.
 */
export function openSse(reply: FastifyReply): ServerResponse {
  const headers: OutgoingHttpHeaders = {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  };
  delete headers['content-length'];
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, headers);
  res.flushHeaders();
  return res;
}

function send(res: ServerResponse, event: string, data: unknown): void {
  if (!res.writableEnded && !res.destroyed)
    res.write(`event: ${event}\ndata: ${sseJson(data)}\n\n`);
}

/**
 * JSON for one `data:` line. JSON.stringify escapes CR and LF but writes U+2028, U+2029 (and
 * U+0085) raw: an SSE parser keeps them, but a client that cuts the stream into lines with a
 * generic tool (a multiline JavaScript regex, Python's splitlines) would break the event there.
 * Escaped, they decode to the same text.
 */
export function sseJson(data: unknown): string {
  return JSON.stringify(data).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
