import { AsyncLocalStorage } from 'node:async_hooks';

export type EmbedAction = 'add' | 'update' | 'search';

/** Mem0's embedder interface (`Embedder` in mem0ai/oss). */
export interface Embedder {
  embed(text: string, action?: EmbedAction): Promise<number[]>;
  embedBatch(texts: string[], action?: EmbedAction): Promise<number[][]>;
}

/** What Mem0 will embed next, computed the way Mem0 computes it (see mem0-internals.ts). */
export interface Lookahead {
  /** The entity texts a search for `query` embeds once the query's own vector has been used. */
  searchEntities(query: string): Promise<string[]>;
  /** Every entity text an add may embed after embedding the facts `facts` (or some of them). */
  factEntities(facts: string[]): Promise<string[]>;
}

/** One Mem0 search or add, and the vectors already fetched for it. */
interface Call {
  kind: 'search' | 'add';
  query?: string;
  lookedAhead: boolean;
  vectors: Map<string, number[]>;
}

const keyOf = (action: EmbedAction | undefined, text: string) => `${action ?? ''}\u0000${text}`;

/**
 * Mem0's embedder, asked for what Mem0 will need next in the same request as what it needs now.
 * Mem0 embeds in series what it could embed at once: a search embeds the query, searches, then
 * embeds the entities it found in the query (for its entity boost); an add embeds the extracted
 * facts, stores them, then embeds the entities found in the facts. Inside `searching`/`adding`
 * the first of those requests carries the second's texts too, and the second is answered from it,
 * so each costs one round trip. A text it did not foresee is fetched as before: a wrong guess
 * costs a request, never a different vector. The inner embedder must give a text the same vector
 * alone and in a batch (true of OpenAI's API; not of LangChain's embedQuery/embedDocuments).
 */
export class BatchingEmbedder implements Embedder {
  private readonly calls = new AsyncLocalStorage<Call>();

  constructor(
    private readonly inner: Embedder,
    private readonly lookahead: Lookahead,
  ) {}

  /** Runs one Mem0 search for `query`. */
  searching<T>(query: string, search: () => Promise<T>): Promise<T> {
    return this.calls.run(
      { kind: 'search', query, lookedAhead: false, vectors: new Map() },
      search,
    );
  }

  /** Runs one Mem0 add. */
  adding<T>(add: () => Promise<T>): Promise<T> {
    return this.calls.run({ kind: 'add', lookedAhead: false, vectors: new Map() }, add);
  }

  async embed(text: string, action?: EmbedAction): Promise<number[]> {
    const call = this.calls.getStore();
    const known = call?.vectors.get(keyOf(action, text));
    if (known) return known;
    if (call?.kind === 'search' && !call.lookedAhead && text === call.query) {
      call.lookedAhead = true;
      const entities = await this.foresee(() => this.lookahead.searchEntities(text));
      if (entities.length > 0)
        return (await this.fetch(call, unique([text, ...entities]), action))[0];
    }
    return this.inner.embed(text, action);
  }

  async embedBatch(texts: string[], action?: EmbedAction): Promise<number[][]> {
    const call = this.calls.getStore();
    if (!call) return this.inner.embedBatch(texts, action);
    let ahead: string[] = [];
    if (call.kind === 'add' && action === 'add' && !call.lookedAhead && texts.length > 0) {
      call.lookedAhead = true;
      ahead = await this.foresee(() => this.lookahead.factEntities(texts));
    }
    const missing = unique([...texts, ...ahead]).filter(
      (text) => !call.vectors.has(keyOf(action, text)),
    );
    if (missing.length > 0) await this.fetch(call, missing, action);
    return texts.map((text) => call.vectors.get(keyOf(action, text))!);
  }

  private async fetch(call: Call, texts: string[], action?: EmbedAction): Promise<number[][]> {
    const vectors = await this.inner.embedBatch(texts, action);
    if (vectors.length !== texts.length) {
      throw new Error(`The embedder returned ${vectors.length} vectors for ${texts.length} texts`);
    }
    texts.forEach((text, i) => call.vectors.set(keyOf(action, text), vectors[i]));
    return vectors;
  }

  /** A guess that fails is no guess: Mem0 then embeds as it would have anyway. */
  private async foresee(guess: () => Promise<string[]>): Promise<string[]> {
    try {
      return await guess();
    } catch {
      return [];
    }
  }
}

function unique(texts: string[]): string[] {
  return [...new Set(texts)];
}
