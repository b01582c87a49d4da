/**
 * TEST DOUBLE: a fake OpenAI-compatible HTTP server for tests and benchmarks. Not production code.
 *
 * It listens on 127.0.0.1 (free port) so the real `openai` SDK and the real `mem0ai/oss` can run
 * against it without reaching the internet. Answers are deterministic:
 * - embeddings: hashed bag of lowercased words, L2-normalised (texts sharing words score high);
 * - mem0's memory-extraction call: JSON facts taken from the user messages (see `setExtractor`);
 * - mem0's LLM-reranker call: a word-overlap score such as "0.50";
 * - the app's memory-conflict question: JSON decisions (see `setDecider`);
 * - any other chat completion: `Echo: <last user message>` (see `setReply`), streamed or not.
 * Faults (errors, latency, hangs, broken streams) can be injected and are undone by `reset()`.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export type PathFilter = 'chat' | 'embeddings' | 'any';
type Route = 'chat' | 'embeddings' | 'models' | 'unknown';
export type RequestKind =
  'chat' | 'extraction' | 'conflict' | 'rerank' | 'embeddings' | 'models' | 'unknown';

export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}
export interface ChatRequestBody {
  model?: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  response_format?: { type: string } | null;
  [key: string]: unknown;
}
export interface EmbeddingRequestBody {
  model?: string;
  input: string | string[];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
  [key: string]: unknown;
}
export interface RecordedRequest {
  method: string;
  path: string;
  kind: RequestKind;
  body: unknown;
  /** Date.now() when the request body had been read. */
  receivedAt: number;
  /** Milliseconds from request received to response fully written; unset if it never ended. */
  durationMs?: number;
  /** performance.now() when the request arrived (same clock as durationMs). */
  startedAt?: number;
  /** Streamed chat: milliseconds from request received to the first content chunk written. */
  firstChunkMs?: number;
}
export interface OpenAiTestDoubleOptions {
  embeddingDims?: number;
  /** false: keep no `requests` (long benchmark runs); `onRequestEnd` still sees each one. */
  recordRequests?: boolean;
  /** Called when a response has been fully written, with its record (durationMs set). */
  onRequestEnd?: (request: RecordedRequest) => void;
}
export interface FailOptions {
  /** HTTP status, default 500. */
  status?: number;
  /** How many matching requests fail, default 1. */
  times?: number;
  path?: PathFilter;
  /** Raw response body instead of the default OpenAI error JSON. */
  body?: string;
}
type PendingFailure = Required<Omit<FailOptions, 'body'>> & Pick<FailOptions, 'body'>;
export type Extractor = (userMessages: string[]) => string[];
/** The JSON the app sends with its memory-conflict question (conflict-question.ts). */
export interface ConflictQuestion {
  memories: { id: string; learned: string; text: string }[];
  new_facts: { id: string; text: string; close_to: string[] }[];
}
/** Answers the question: the raw text the app gets (valid JSON or not). */
export type Decider = (question: ConflictQuestion) => string;
export type ReplyFn = (req: ChatRequestBody) => string;

/** mem0 3.3's extraction system prompt (ADDITIVE_EXTRACTION_PROMPT) contains this; sent in JSON mode. */
const EXTRACTION_MARKER = 'You are a Memory Extractor';
/** The app's memory-conflict system prompt starts with this (CONFLICT_MARKER); sent in JSON mode. */
const CONFLICT_MARKER = 'You keep the long-term memory of a user consistent.';
/** mem0 3.3's LLMReranker system prompt starts with this; it parses the first number in the reply. */
const RERANK_MARKER = 'You are a relevance scoring assistant';
const ROUTES: Record<string, Route | undefined> = {
  'POST /v1/chat/completions': 'chat',
  'POST /v1/embeddings': 'embeddings',
  'GET /v1/models': 'models',
};
const ERROR_TYPES: Record<number, string | undefined> = {
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
};
const ABOUT_USER = /\b(my\s|i am\b|i'm\b|i’m\b|i like\b|i live\b|i work\b)/i;

/** Default extractor: every sentence of a user message that says something about the user. */
export const defaultExtractor: Extractor = (userMessages) =>
  userMessages
    .flatMap((m) => m.split(/(?<=[.!?])\s+|\n+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && ABOUT_USER.test(s));

const defaultReply: ReplyFn = (req) => `Echo: ${lastUserText(req.messages)}`;

/**
 * Default decider: a new fact whose first three words are those of a close memory (any case)
 * UPDATEs it with the new fact's text ("I live in Lisbon." → "I live in Berlin."); every other
 * fact is an ADD.
 */
export const defaultDecider: Decider = (question) => {
  const lead = (text: string) => words(text).slice(0, 3).join(' ');
  const byId = new Map(question.memories.map((m) => [m.id, m]));
  const decisions = question.new_facts.map((fact) => {
    const match = fact.close_to.find((id) => {
      const memory = byId.get(id);
      return (
        memory !== undefined &&
        words(fact.text).length >= 3 &&
        lead(memory.text) === lead(fact.text)
      );
    });
    return match
      ? { fact: fact.id, event: 'UPDATE', memory: match, text: fact.text }
      : { fact: fact.id, event: 'ADD' };
  });
  return JSON.stringify({ decisions });
};

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}'’]+/gu) ?? [];
}

/** FNV-1a, 32 bit: a stable hash so that the same word always lands in the same dimension. */
function fnv1a(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The double's embedding of `text`: exported so tests can compute expected vectors. */
export function embedText(text: string, dims: number): Float32Array {
  const v = new Float32Array(dims);
  // A hash-derived sign keeps unrelated texts near cosine 0 instead of all-positive overlap.
  for (const w of words(text)) v[fnv1a(w) % dims] += fnv1a(`±${w}`) & 1 ? 1 : -1;
  const norm = Math.hypot(...v);
  if (norm === 0)
    v[0] = 1; // no words (or cancelled out): any unit vector beats NaNs
  else for (let i = 0; i < dims; i++) v[i] /= norm;
  return v;
}

const approxTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));
const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isChatBody = (x: unknown): x is ChatRequestBody => isRecord(x) && Array.isArray(x.messages);
const matches = (filter: PathFilter, route: Route): boolean => filter === 'any' || filter === route;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('');
}
function lastUserText(messages: ChatMessage[]): string {
  return textOf([...messages].reverse().find((m) => m.role === 'user')?.content);
}
function systemText(body: ChatRequestBody): string {
  return textOf(body.messages.find((m) => m.role === 'system')?.content);
}

/**
 * mem0 sends one user message whose "## New Messages" section lists the turn as `role: content`
 * lines (joined by "\n"). Only that section is read: "## Last k Messages" repeats earlier turns,
 * which were extracted already.
 */
export function userMessagesFromExtractionPrompt(prompt: string): string[] {
  const section =
    /## New Messages\n([\s\S]*?)(?:\n\n## Observation Date|$)/.exec(prompt)?.[1] ?? '';
  const messages: { role: string; text: string }[] = [];
  for (const line of section.split('\n')) {
    const m = /^(user|assistant|system): ([\s\S]*)$/.exec(line);
    if (m) messages.push({ role: m[1], text: m[2] });
    else if (messages.length > 0) messages[messages.length - 1].text += `\n${line}`;
  }
  return messages.filter((m) => m.role === 'user').map((m) => m.text);
}

export class OpenAiTestDouble {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private url?: string;
  private failures: PendingFailure[] = [];
  private latency = new Map<PathFilter, number>();
  private hangs = new Set<PathFilter>();
  private held = new Set<() => void>();
  private streamFailAfter?: number;
  private streamStallAfter?: number;
  private extractor: Extractor = defaultExtractor;
  private decider: Decider = defaultDecider;
  private reply: ReplyFn = defaultReply;
  private counter = 0;
  private readonly embeddingDims: number;
  private readonly recordRequests: boolean;
  private readonly onRequestEnd?: (request: RecordedRequest) => void;

  constructor(options: OpenAiTestDoubleOptions = {}) {
    this.embeddingDims = options.embeddingDims ?? 1536;
    this.recordRequests = options.recordRequests ?? true;
    this.onRequestEnd = options.onRequestEnd;
  }

  /** Listens on 127.0.0.1, port 0; resolves with the base URL, e.g. http://127.0.0.1:41234/v1. */
  async start(): Promise<string> {
    if (this.server) throw new Error('OpenAiTestDouble already started');
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(res, 500, `Test double failure: ${String(err)}`);
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  get baseURL(): string {
    if (!this.url) throw new Error('OpenAiTestDouble not started');
    return this.url;
  }

  /** Closes the server and destroys every open socket, including hung and keep-alive ones. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = this.url = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Undoes every fault and replacement (records are kept: see `clear`). Held requests proceed. */
  reset(): void {
    this.failures = [];
    this.latency.clear();
    this.hangs.clear();
    this.streamFailAfter = undefined;
    this.streamStallAfter = undefined;
    this.extractor = defaultExtractor;
    this.decider = defaultDecider;
    this.reply = defaultReply;
    for (const release of [...this.held]) release();
  }

  clear(): void {
    this.requests.length = 0;
  }

  setExtractor(fn: Extractor): void {
    this.extractor = fn;
  }
  /** How the memory-conflict question is answered (until `reset()`). */
  setDecider(fn: Decider): void {
    this.decider = fn;
  }
  setReply(fn: ReplyFn): void {
    this.reply = fn;
  }
  /** The next `times` requests matching `path` get an OpenAI-shaped error with `status`. */
  failNext(options: FailOptions = {}): void {
    const { status = 500, times = 1, path = 'any', body } = options;
    this.failures.push({ status, times, path, body });
  }
  /** Delays every matching answer by `ms` (a path-specific value wins over 'any'). */
  setLatency(ms: number, path: PathFilter = 'any'): void {
    this.latency.set(path, ms);
  }
  /** Matching requests get no answer until `reset()` (then they proceed) or `stop()`. */
  hang(path: PathFilter = 'any'): void {
    this.hangs.add(path);
  }
  /** Every streamed answer (until `reset()`) sends `deltas` content deltas, then drops the socket. */
  failStreamAfter(deltas: number): void {
    this.streamFailAfter = deltas;
  }

  /** Streamed answers send that many deltas, then go silent with the connection open. */
  stallStreamAfter(deltas: number): void {
    this.streamStallAfter = deltas;
  }

  chatRequests(): ChatRequestBody[] {
    return this.bodies('chat') as ChatRequestBody[];
  }
  extractionRequests(): ChatRequestBody[] {
    return this.bodies('extraction') as ChatRequestBody[];
  }
  conflictRequests(): ChatRequestBody[] {
    return this.bodies('conflict') as ChatRequestBody[];
  }
  embeddingRequests(): EmbeddingRequestBody[] {
    return this.bodies('embeddings') as EmbeddingRequestBody[];
  }
  /** Sum of `durationMs` over recorded requests: what a benchmark subtracts as upstream time. */
  upstreamMs(): number {
    return this.requests.reduce((sum, r) => sum + (r.durationMs ?? 0), 0);
  }

  private bodies(kind: RequestKind): unknown[] {
    return this.requests.filter((r) => r.kind === kind).map((r) => r.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://double').pathname;
    const method = req.method ?? 'GET';
    const route = ROUTES[`${method} ${path}`] ?? 'unknown';
    let body: unknown = raw;
    try {
      if (raw) body = JSON.parse(raw);
    } catch {
      // recorded as the raw string; the route handlers reject it below
    }
    const record: RecordedRequest = {
      method,
      path,
      kind: this.classify(route, body),
      body,
      receivedAt: Date.now(),
      startedAt: started,
    };
    if (this.recordRequests) this.requests.push(record);
    res.once('finish', () => {
      record.durationMs = performance.now() - started;
      this.onRequestEnd?.(record);
    });
    res.setHeader('x-request-id', `req_double_${++this.counter}`);

    // Consumed on arrival so that concurrent requests fail in arrival order.
    const failure = this.failures.find((f) => f.times > 0 && matches(f.path, route));
    if (failure) failure.times--;
    const gone = () => res.writableEnded || req.socket.destroyed;
    if ([...this.hangs].some((p) => matches(p, route))) await this.wait(res);
    const specific =
      route === 'chat' || route === 'embeddings' ? this.latency.get(route) : undefined;
    const ms = specific ?? this.latency.get('any') ?? 0;
    if (ms > 0 && !gone()) await this.wait(res, ms);
    if (gone()) return;

    if (failure) return this.sendError(res, failure.status, 'Injected failure', failure.body);
    if (route === 'models') return this.sendJson(res, 200, this.models());
    if (route === 'embeddings') return this.embeddings(res, body);
    if (route === 'chat') return this.chat(res, body, record, started);
    this.sendError(res, 404, `Unknown request URL: ${method} ${path}`);
  }

  private classify(route: Route, body: unknown): RequestKind {
    if (route !== 'chat' || !isChatBody(body)) return route;
    const system = systemText(body);
    if (body.response_format?.type === 'json_object' && system.includes(EXTRACTION_MARKER)) {
      return 'extraction';
    }
    if (body.response_format?.type === 'json_object' && system.startsWith(CONFLICT_MARKER)) {
      return 'conflict';
    }
    return system.startsWith(RERANK_MARKER) ? 'rerank' : 'chat';
  }

  /**
   * Resolves after `ms`, or without `ms` (a hang) on `reset()`; in both cases as soon as the client
   * goes away too (stop() destroys the sockets), so no timer or promise outlives a test.
   */
  private wait(res: ServerResponse, ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.held.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      if (ms === undefined) this.held.add(done);
      res.once('close', done);
    });
  }

  private models(): unknown {
    const created = Math.floor(Date.now() / 1000);
    const owned_by = 'openai-test-double';
    const ids = ['gpt-4o-mini', 'text-embedding-3-small'];
    return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by })) };
  }

  private embeddings(res: ServerResponse, body: unknown): void {
    const input = isRecord(body) ? body.input : undefined;
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
      return this.sendError(res, 400, "'input' must be a string or an array of strings");
    }
    const requested = isRecord(body) ? body.dimensions : undefined;
    const dims = typeof requested === 'number' ? requested : this.embeddingDims;
    if (!Number.isInteger(dims) || dims < 1) return this.sendError(res, 400, 'Bad dimensions');
    const base64 = isRecord(body) && body.encoding_format === 'base64';
    const data = texts.map((text, index) => {
      const vector = embedText(text, dims);
      const bytes = Buffer.alloc(dims * 4);
      vector.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
      // Array.from(Float32Array) gives the same float32 values the base64 form decodes to.
      const embedding = base64 ? bytes.toString('base64') : Array.from(vector);
      return { object: 'embedding', index, embedding };
    });
    const tokens = texts.reduce((sum, t) => sum + approxTokens(t), 0);
    const model = isRecord(body) && typeof body.model === 'string' ? body.model : 'unknown';
    const usage = { prompt_tokens: tokens, total_tokens: tokens };
    this.sendJson(res, 200, { object: 'list', data, model, usage });
  }

  private answerFor(body: ChatRequestBody, kind: RequestKind): string {
    if (kind === 'extraction') {
      const prompt = lastUserText(body.messages);
      const facts = this.extractor(userMessagesFromExtractionPrompt(prompt));
      const memory = facts.map((text, i) => ({ id: String(i), text, attributed_to: 'user' }));
      return JSON.stringify({ memory });
    }
    if (kind === 'conflict') {
      return this.decider(JSON.parse(lastUserText(body.messages)) as ConflictQuestion);
    }
    if (kind === 'rerank') {
      const [, query = '', doc = ''] =
        /^Query: ([\s\S]*?)\n\nDocument: ([\s\S]*)$/.exec(lastUserText(body.messages)) ?? [];
      const q = new Set(words(query));
      const d = new Set(words(doc));
      const overlap = [...q].filter((w) => d.has(w)).length;
      return (q.size === 0 ? 0 : overlap / q.size).toFixed(2);
    }
    return this.reply(body);
  }

  private chat(res: ServerResponse, body: unknown, record: RecordedRequest, started: number): void {
    if (!isChatBody(body)) return this.sendError(res, 400, "'messages' must be an array");
    const content = this.answerFor(body, this.classify('chat', body));
    const promptText = body.messages.map((m) => textOf(m.content)).join('\n');
    const usage = {
      prompt_tokens: approxTokens(promptText),
      completion_tokens: approxTokens(content),
      total_tokens: approxTokens(promptText) + approxTokens(content),
    };
    const base = {
      id: `chatcmpl-double-${this.counter}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'gpt-4o-mini',
    };
    if (!body.stream) {
      const message = { role: 'assistant', content, refusal: null };
      const choices = [{ index: 0, message, finish_reason: 'stop', logprobs: null }];
      return this.sendJson(res, 200, { ...base, object: 'chat.completion', choices, usage });
    }

    const withUsage = body.stream_options?.include_usage === true;
    const frame = (delta: object, finish: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
        ...(withUsage ? { usage: null } : {}),
        ...extra,
      })}\n\n`;
    // Split after whitespace: "Echo: hi there" -> ["Echo: ", "hi ", "there"], joins back exactly.
    const pieces = content.split(/(?<=\s)/).filter((p) => p.length > 0);
    const limit = this.streamFailAfter ?? this.streamStallAfter;
    const frames = [frame({ role: 'assistant', content: '' }, null)];
    frames.push(...pieces.slice(0, limit).map((p) => frame({ content: p }, null)));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Every frame goes out in the one write below: that is when the first token leaves.
    if (pieces.length > 0 && limit !== 0) record.firstChunkMs = performance.now() - started;
    if (this.streamStallAfter !== undefined && this.streamFailAfter === undefined) {
      res.write(frames.join('')); // and nothing more: stop() destroys the socket
      return;
    }
    if (limit !== undefined) {
      // Flush what the client may see, then drop the connection without the terminating chunk.
      res.write(frames.join(''), () => res.destroy());
      return;
    }
    frames.push(frame({}, 'stop'));
    if (withUsage) frames.push(frame({}, null, { choices: [], usage }));
    res.end(`${frames.join('')}data: [DONE]\n\n`);
  }

  private sendJson(res: ServerResponse, status: number, payload: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }

  private sendError(res: ServerResponse, status: number, message: string, raw?: string): void {
    if (raw !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(raw);
      return;
    }
    const type = ERROR_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.sendJson(res, status, { error: { message, type, param: null, code: null } });
  }
}
