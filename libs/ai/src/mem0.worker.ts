/**
 * Entry of a Mem0 thread (see Mem0Thread): one Mem0 instance on the app's configuration,
 * answering `search` calls from the main thread. Mem0's search is mostly synchronous work (the
 * `compromise` NLP of its entity boost, lemmatising, SQLite queries), which here runs beside the
 * event loop instead of on it.
 */
// Must stay the first import, as in every entry point: mem0 telemetry off before mem0ai loads.
import '../../config/src/preload';

import { parentPort, workerData } from 'node:worker_threads';

import { usesLocalEmbedder } from './local-embedder';
import { embeddingsOf, loadLocalModel } from './local-model';
import { describeMem0Failure } from './mem0-failure';
import { searchMemories } from './memory-search';
import type { Mem0Ready, Mem0Reply, Mem0Request, Mem0ThreadData } from './mem0-thread';

const data = workerData as Mem0ThreadData;

/**
 * The instance, once it has run what a first search would otherwise initialise (see warmUpSearch).
 * With EMBEDDING_PROVIDER=local the thread runs its own copy of the model: it is off the event
 * loop already, and a search then never waits behind an extraction's batch on the main process's
 * embedding thread.
 */
const memory = (async () => {
  const [{ createMem0 }, { warmUpSearch }, local] = await Promise.all([
    import('./mem0-instance'),
    import('./mem0-internals'),
    usesLocalEmbedder(data.mem0Config) ? loadLocalModel() : undefined,
  ]);
  const instance = await createMem0(
    data.mem0Config,
    data.synchronous,
    local && embeddingsOf(local),
  );
  // A warm-up that fails (a remote store down, say) costs only speed: searches then tell.
  await warmUpSearch(instance, data.dimension).catch(() => undefined);
  return instance;
})();

// The main thread learns when the thread can search at full speed (or why it cannot).
memory.then(
  () => parentPort?.postMessage({ ready: true } satisfies Mem0Ready),
  (error: unknown) =>
    parentPort?.postMessage({
      ready: false,
      error: describeMem0Failure(error),
    } satisfies Mem0Ready),
);

parentPort?.on('message', (request: Mem0Request) => {
  void answer(request).then((reply) => parentPort?.postMessage(reply));
});

async function answer(request: Mem0Request): Promise<Mem0Reply> {
  const { id } = request;
  try {
    const results = await searchMemories(await memory, data.search, request);
    return { id, results };
  } catch (error) {
    return { id, error: describeMem0Failure(error) };
  }
}
