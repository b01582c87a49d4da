/**
 * Entry of the local embedding thread (see LocalEmbeddingThread): loads the local model, says so,
 * then answers each request with the vectors of its texts, one request after the other.
 */
import { parentPort } from 'node:worker_threads';

import type { EmbeddingReady, EmbeddingReply, EmbeddingRequest } from './local-embedder';
import { loadLocalModel } from './local-model';

const model = loadLocalModel();

model.then(
  ({ dimension }) => parentPort?.postMessage({ ready: true, dimension } satisfies EmbeddingReady),
  (error: unknown) =>
    parentPort?.postMessage({ ready: false, error: messageOf(error) } satisfies EmbeddingReady),
);

/** The requests, in order: the model's inference awaits, and two batches would interleave. */
let queue = Promise.resolve();

parentPort?.on('message', (request: EmbeddingRequest) => {
  queue = queue
    .then(() => answer(request))
    .then((reply) => parentPort?.postMessage(reply, reply.data ? [reply.data.buffer] : []));
});

async function answer({ id, texts }: EmbeddingRequest): Promise<EmbeddingReply> {
  try {
    const local = await model;
    const { dimension } = local;
    const vectors = await local.embed(texts);
    const data = new Float32Array(vectors.length * dimension);
    vectors.forEach((vector, i) => data.set(vector, i * dimension));
    return { id, data };
  } catch (error) {
    return { id, error: messageOf(error) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
