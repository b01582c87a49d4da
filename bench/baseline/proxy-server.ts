/**
 * The benchmark's baseline: the least an OpenAI-backed chat server with memory must do per turn —
 * embed the message, then ask the model — as a bare Node HTTP server on the same `openai` SDK, with
 * no framework, no database, no authentication and no memory. `npm run bench` starts it as its own
 * process (as it starts the product), so their CPU figures compare; it is never part of the app.
 *
 *   POST /turn {message}   one embedding request, then one chat completion → {response}
 *   GET  /me               a fixed JSON user (the counterpart of GET /api/v1/auth/me)
 *   GET  /health/live, /health/ready
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

import OpenAI from 'openai';

const env = process.env;
const client = new OpenAI({
  apiKey: env.OPENAI_API_KEY ?? 'not-a-key',
  baseURL: env.OPENAI_BASE_URL,
  maxRetries: 0,
});
const dimensions = Number(env.EMBEDDING_DIMS ?? 1536);
const ME = JSON.stringify({ id: 'baseline-user', username: 'baseline', role: 'user' });

async function turn(message: string): Promise<string> {
  await client.embeddings.create({
    model: env.EMBEDDING_MODEL ?? 'text-embedding-3-small',
    input: message,
    encoding_format: 'float',
    dimensions,
  });
  const completion = await client.chat.completions.create({
    model: env.OPENAI_MODEL ?? 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: message },
    ],
  });
  return completion.choices[0]?.message.content ?? '';
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<{ message?: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && (req.url === '/health/live' || req.url === '/health/ready'))
    return send(res, 200, '{"status":"ok"}');
  if (req.method === 'GET' && req.url === '/me') return send(res, 200, ME);
  if (req.method === 'POST' && req.url === '/turn') {
    const { message } = await readJson(req);
    if (typeof message !== 'string') return send(res, 400, '{"detail":"message required"}');
    return send(res, 200, JSON.stringify({ response: await turn(message) }));
  }
  send(res, 404, '{"detail":"not found"}');
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    send(res, 502, JSON.stringify({ detail: String(error).slice(0, 200) }));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(env.API_PORT), env.API_HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
