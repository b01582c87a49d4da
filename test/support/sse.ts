import type { Response } from 'supertest';

export interface SseEvent {
  event: string;
  data: unknown;
}

/** supertest parser that keeps a text/event-stream body as a string. */
export function rawText(res: Response, done: (err: Error | null, body: string) => void): void {
  // At this point supertest hands over the raw Node response stream.
  const stream = res as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => done(null, body));
}

export function parseSse(res: Response): SseEvent[] {
  return (res.body as string)
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? 'null';
      return { event, data: JSON.parse(data) as unknown };
    });
}
