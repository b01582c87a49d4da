/**
 * Entry of the memory search thread (see MemorySearchThread): one Mem0 instance on the app's
 * configuration, answering `search` requests from the main thread. Mem0's search is mostly
 * synchronous work (the `compromise` NLP of its entity boost, lemmatising, SQLite queries), which
 * here runs beside the event loop instead of on it.
 */
// Must stay the first import, as in every entry point: mem0 telemetry off before mem0ai loads.
import '../../config/src/preload';

import { parentPort, workerData } from 'node:worker_threads';

import type { SearchReply, SearchRequest, SearchThreadData } from './memory-search-thread';

const data = workerData as SearchThreadData;

const memory = import('./mem0-instance').then(({ createMem0 }) =>
  createMem0(data.mem0Config, data.synchronous),
);

parentPort?.on('message', (request: SearchRequest) => {
  void answer(request).then((reply) => parentPort?.postMessage(reply));
});

async function answer({ id, userId, query, limit }: SearchRequest): Promise<SearchReply> {
  try {
    const found = await (await memory).search(query, { filters: { user_id: userId }, topK: limit });
    return { id, results: found.results };
  } catch (error) {
    const failure = error as {
      name?: unknown;
      message?: unknown;
      status?: unknown;
      cause?: unknown;
    };
    const causeStatus = (failure.cause as { status?: unknown } | undefined)?.status;
    return {
      id,
      error: {
        name: typeof failure.name === 'string' ? failure.name : 'Error',
        message: typeof failure.message === 'string' ? failure.message : String(error),
        status: typeof failure.status === 'number' ? failure.status : undefined,
        causeStatus: typeof causeStatus === 'number' ? causeStatus : undefined,
      },
    };
  }
}
