import { randomBytes } from 'node:crypto';

import { ChatMessage, OpenAiTestDouble, RecordedRequest } from '../../test/support/openai-double';

/** What the stub measured for one turn (one unique token), in milliseconds. */
export interface UpstreamTiming {
  /** Sum of the embedding calls whose input held the token (they run one after another). */
  embeddingMs: number;
  embeddingCalls: number;
  /** The chat completion whose last user message held the token. */
  chatMs: number;
  chatCalls: number;
  /** Streamed completion: from its arrival to its first content chunk. */
  chatFirstChunkMs: number;
}

const TOKEN = /\bqz[0-9a-z]{10}\b/g;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as unknown[])
    .map((p) => (typeof p === 'object' && p !== null && 'text' in p ? String(p.text) : ''))
    .join('');
}

/**
 * The OpenAI-compatible test double with per-turn accounting: every benchmarked request carries a
 * unique token in its text, and each stub call is attributed to the token(s) in its input (the
 * embedding's input, the chat completion's last user message). No request bodies are kept.
 */
export class Upstream {
  readonly double: OpenAiTestDouble;
  private readonly byToken = new Map<string, UpstreamTiming>();
  private readonly prefix = randomBytes(3).toString('hex').slice(0, 4);
  private counter = 0;
  readonly unattributed: Record<string, number> = {};
  readonly calls: Record<string, number> = {};
  /** When set, every call's kind and start (performance.now()) is appended to it. */
  trace?: { kind: string; startedAt: number }[];

  constructor() {
    this.double = new OpenAiTestDouble({
      embeddingDims: 1536,
      recordRequests: false,
      onRequestEnd: (r) => this.account(r),
    });
  }

  start(): Promise<string> {
    return this.double.start();
  }

  stop(): Promise<void> {
    return this.double.stop();
  }

  setLatency(ms: number): void {
    this.double.setLatency(ms);
  }

  /** A fresh token: "qz" and 10 base-36 characters, one word that nothing else contains. */
  token(): string {
    const n = (this.counter++).toString(36).padStart(6, '0');
    return `qz${this.prefix}${n}`;
  }

  /** The timing of one token's calls, forgotten once read; undefined if the stub never saw it. */
  take(token: string): UpstreamTiming | undefined {
    const timing = this.byToken.get(token);
    this.byToken.delete(token);
    return timing;
  }

  reset(): void {
    this.byToken.clear();
    for (const key of Object.keys(this.unattributed)) delete this.unattributed[key];
    for (const key of Object.keys(this.calls)) delete this.calls[key];
  }

  private account(r: RecordedRequest): void {
    this.calls[r.kind] = (this.calls[r.kind] ?? 0) + 1;
    this.trace?.push({ kind: r.kind, startedAt: r.startedAt ?? NaN });
    const tokens = this.tokensOf(r);
    if (tokens.length === 0) {
      if (r.kind === 'embeddings' || r.kind === 'chat')
        this.unattributed[r.kind] = (this.unattributed[r.kind] ?? 0) + 1;
      return;
    }
    for (const token of tokens) {
      const t = this.byToken.get(token) ?? {
        embeddingMs: 0,
        embeddingCalls: 0,
        chatMs: 0,
        chatCalls: 0,
        chatFirstChunkMs: NaN,
      };
      const ms = r.durationMs ?? 0;
      if (r.kind === 'embeddings') {
        t.embeddingMs += ms;
        t.embeddingCalls += 1;
      } else if (r.kind === 'chat') {
        t.chatMs += ms;
        t.chatCalls += 1;
        if (r.firstChunkMs !== undefined) t.chatFirstChunkMs = r.firstChunkMs;
      }
      this.byToken.set(token, t);
    }
  }

  private tokensOf(r: RecordedRequest): string[] {
    const body = r.body as { input?: unknown; messages?: ChatMessage[] } | undefined;
    let text = '';
    if (r.kind === 'embeddings') {
      const input = body?.input;
      text = Array.isArray(input) ? input.join('\n') : typeof input === 'string' ? input : '';
    } else if (r.kind === 'chat') {
      const messages = body?.messages ?? [];
      text = textOf([...messages].reverse().find((m) => m.role === 'user')?.content);
    } else {
      // Extraction (off the turn's path) and anything else: counted in `calls` only.
      return [];
    }
    return [...new Set(text.match(TOKEN) ?? [])];
  }
}
