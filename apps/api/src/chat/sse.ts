import type { Response } from 'express';

import { ChatResponseDto } from './dto/chat.dto';
import { StreamedTurn } from './chat.service';

/**
 * Writes a streamed turn as Server-Sent Events: `delta` events, then `done` with the same object
 * as a non-streamed answer, or `error` if the model fails after the stream started. What arrived
 * is stored either way (also when the client goes away).
 */
export async function writeTurnAsSse(
  res: Response,
  turn: StreamedTurn,
  clientGone: AbortSignal,
  errorMessage: (error: unknown) => string,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  let result: ChatResponseDto | null = null;
  try {
    for await (const content of turn.deltas) send(res, 'delta', { content });
    result = await turn.finish(true);
    send(res, 'done', result);
  } catch (error) {
    if (!result) await turn.finish(false).catch(() => undefined);
    if (!clientGone.aborted) send(res, 'error', { message: errorMessage(error) });
  } finally {
    res.end();
  }
}

function send(res: Response, event: string, data: unknown): void {
  if (!res.writableEnded && !res.destroyed)
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
