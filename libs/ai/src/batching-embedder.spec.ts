import { BatchingEmbedder, EmbedAction, Embedder, Lookahead } from './batching-embedder';

/** An embedder that notes every request; a text's vector is its length and its action's. */
class RecordingEmbedder implements Embedder {
  readonly requests: { texts: string[] | string; action?: EmbedAction }[] = [];
  failing = false;

  embed(text: string, action?: EmbedAction): Promise<number[]> {
    this.requests.push({ texts: text, action });
    return this.answer(() => vectorOf(text, action));
  }

  embedBatch(texts: string[], action?: EmbedAction): Promise<number[][]> {
    this.requests.push({ texts, action });
    return this.answer(() => texts.map((text) => vectorOf(text, action)));
  }

  private answer<T>(value: () => T): Promise<T> {
    return this.failing ? Promise.reject(new Error('upstream failed')) : Promise.resolve(value());
  }
}

const vectorOf = (text: string, action?: EmbedAction) => [text.length, (action ?? '').length];

/** Entities are the capitalised words; Lookahead as mem0-internals computes it, in miniature. */
const capitalised = (text: string) => text.match(/\b[A-Z]\w+/g) ?? [];
const lookahead: Lookahead = {
  searchEntities: (query) => Promise.resolve(capitalised(query)),
  factEntities: (facts) => Promise.resolve(facts.flatMap(capitalised)),
};

describe('BatchingEmbedder', () => {
  let inner: RecordingEmbedder;
  let embedder: BatchingEmbedder;

  beforeEach(() => {
    inner = new RecordingEmbedder();
    embedder = new BatchingEmbedder(inner, lookahead);
  });

  /** What Mem0 3.3's search does: the query, then (after its vector search) the entities. */
  const mem0Search = (query: string, entities = capitalised(query)) =>
    embedder.searching(query, async () => ({
      query: await embedder.embed(query, 'search'),
      entities: entities.length > 0 ? await embedder.embedBatch(entities, 'search') : [],
    }));

  it('sends a search query and its entities in one request, and answers both from it', async () => {
    const query = 'my friend Anna from Porto';
    const found = await mem0Search(query);
    expect(inner.requests).toEqual([{ texts: [query, 'Anna', 'Porto'], action: 'search' }]);
    expect(found).toEqual({
      query: vectorOf(query, 'search'),
      entities: [vectorOf('Anna', 'search'), vectorOf('Porto', 'search')],
    });
  });

  it('embeds a query without entities as before: alone, one request', async () => {
    expect(await mem0Search('what should I cook')).toEqual({
      query: vectorOf('what should I cook', 'search'),
      entities: [],
    });
    expect(inner.requests).toEqual([{ texts: 'what should I cook', action: 'search' }]);
  });

  it('fetches what it did not foresee, and only that', async () => {
    await mem0Search('Anna and Porto', ['Anna', 'Lisbon']);
    expect(inner.requests).toEqual([
      { texts: ['Anna and Porto', 'Anna', 'Porto'], action: 'search' },
      { texts: ['Lisbon'], action: 'search' },
    ]);
  });

  it('in an add, sends the facts and their entities in one request', async () => {
    const facts = ['Anna plays the cello', 'I like chess', 'Anna lives in Porto'];
    const vectors = await embedder.adding(async () => {
      await embedder.embed('user: hello Anna', 'search');
      const embedded = await embedder.embedBatch(facts, 'add');
      // Mem0 links entities of the facts it stored (not the duplicates), once per text.
      return { embedded, entities: await embedder.embedBatch(['Porto', 'Anna'], 'add') };
    });
    expect(inner.requests).toEqual([
      // The turn, before the extraction prompt: no look-ahead for it.
      { texts: 'user: hello Anna', action: 'search' },
      { texts: [...facts, 'Anna', 'Porto'], action: 'add' },
    ]);
    expect(vectors).toEqual({
      embedded: facts.map((fact) => vectorOf(fact, 'add')),
      entities: [vectorOf('Porto', 'add'), vectorOf('Anna', 'add')],
    });
  });

  it('looks ahead once per call, and never across calls', async () => {
    await embedder.adding(async () => {
      await embedder.embedBatch(['Anna plays'], 'add');
      // Mem0's one-by-one fallback, and a second batch: nothing more is guessed.
      await embedder.embed('Anna plays', 'add');
      await embedder.embedBatch(['Ben sings'], 'add');
    });
    await mem0Search('what about Anna', ['Anna']);
    expect(inner.requests).toEqual([
      { texts: ['Anna plays', 'Anna'], action: 'add' },
      { texts: ['Ben sings'], action: 'add' },
      // A new call: the add's vectors are gone.
      { texts: ['what about Anna', 'Anna'], action: 'search' },
    ]);
  });

  it('asks once for a query that is its own entity', async () => {
    expect(await mem0Search('Porto')).toEqual({
      query: vectorOf('Porto', 'search'),
      entities: [vectorOf('Porto', 'search')],
    });
    expect(inner.requests).toEqual([{ texts: ['Porto'], action: 'search' }]);
  });

  it('keeps concurrent searches apart', async () => {
    const [a, b] = await Promise.all([mem0Search('about Anna'), mem0Search('about Porto')]);
    expect(a.entities).toEqual([vectorOf('Anna', 'search')]);
    expect(b.entities).toEqual([vectorOf('Porto', 'search')]);
    expect(inner.requests).toHaveLength(2);
  });

  it('outside a search or add, passes every call through', async () => {
    await embedder.embed('Anna', 'update');
    await embedder.embedBatch(['Anna', 'Porto'], 'add');
    expect(inner.requests).toEqual([
      { texts: 'Anna', action: 'update' },
      { texts: ['Anna', 'Porto'], action: 'add' },
    ]);
  });

  it('falls back to a plain request when the look-ahead fails', async () => {
    embedder = new BatchingEmbedder(inner, {
      searchEntities: () => Promise.reject(new Error('extraction changed')),
      factEntities: () => Promise.reject(new Error('extraction changed')),
    });
    await mem0Search('about Anna', []);
    expect(inner.requests).toEqual([{ texts: 'about Anna', action: 'search' }]);
  });

  it('fails the search as the query request would have failed', async () => {
    inner.failing = true;
    await expect(mem0Search('about Anna')).rejects.toThrow('upstream failed');
  });

  it('refuses an answer with the wrong number of vectors', async () => {
    inner.embedBatch = (texts) => Promise.resolve(texts.slice(1).map((t) => vectorOf(t)));
    await expect(mem0Search('about Anna')).rejects.toThrow('returned 1 vectors for 2 texts');
  });
});
