import { createLocalEmbedder } from '@app/ai';
import { LOCAL_EMBEDDING_DIMS, LOCAL_EMBEDDING_MODEL } from '@app/config';
import { performance } from 'node:perf_hooks';

/** What Mem0's `langchain` embedder provider calls: a LangChain `Embeddings` instance's shape. */
export interface LangchainEmbeddings {
  embedQuery(text: string): Promise<number[]>;
  embedDocuments(texts: string[]): Promise<number[][]>;
}

/** The Universal Sentence Encoder lite's vectors and name, as EMBEDDING_PROVIDER=local has them. */
export const LOCAL_DIMS = LOCAL_EMBEDDING_DIMS;
export const LOCAL_MODEL = LOCAL_EMBEDDING_MODEL;

/**
 * The app's local embedder (EMBEDDING_PROVIDER=local): the Universal Sentence Encoder lite of the
 * installed `@energetic-ai` packages on a thread of its own, with no network. A text gets the same
 * vector alone and in a batch (the model has no padding).
 */
export async function localEmbedder(): Promise<LangchainEmbeddings & { close(): Promise<void> }> {
  return createLocalEmbedder();
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
