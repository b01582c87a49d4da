/**
 * What EMBEDDING_PROVIDER=local costs on this machine: the local model on its own thread (as the
 * app runs it), timed through that thread (the hop included), and the process's RSS before and
 * after the thread loaded its copy of the model. Prints one markdown table.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only bench/local-embedder.ts
 */
import { createLocalEmbedder } from '@app/ai';
import { performance } from 'node:perf_hooks';

const SUBJECTS = ['My sister', 'My neighbour', 'I', 'My manager', 'My oldest friend'];
const FACTS = [
  'lives in a small flat near the harbour in Porto',
  'is allergic to peanuts and shellfish',
  'plays the cello in a community orchestra on Sundays',
  'works night shifts as a nurse at the city hospital',
  'wants to learn Japanese before visiting Kyoto next spring',
];

/** `count` different sentences of 8 to 12 words, like the facts Mem0 stores. */
function sentences(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `${SUBJECTS[n % 5]} ${FACTS[Math.floor(n / 5) % 5]} (${n}).`;
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

async function main(): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  let started = performance.now();
  const embedder = await createLocalEmbedder();
  const loadMs = performance.now() - started;
  const rssLoaded = process.memoryUsage().rss;

  const single: number[] = [];
  for (const text of sentences(100)) {
    started = performance.now();
    await embedder.embedQuery(text);
    single.push(performance.now() - started);
  }
  const batches: number[] = [];
  for (let run = 0; run < 7; run++) {
    const batch = sentences(100, 1000 + run * 100);
    started = performance.now();
    await embedder.embedDocuments(batch);
    batches.push(performance.now() - started);
  }
  const rssAfter = process.memoryUsage().rss;
  await embedder.close();

  console.log(
    [
      '| measure | value |',
      '| --- | --- |',
      `| thread started, model loaded and warmed up | ${loadMs.toFixed(0)} ms |`,
      `| one sentence (median of 100, one call each) | ${median(single).toFixed(1)} ms |`,
      `| a batch of 100 sentences (median of 7) | ${median(batches).toFixed(0)} ms |`,
      `| process RSS: before, model loaded, after the runs | ${mb(rssBefore)}, ${mb(rssLoaded)}, ${mb(rssAfter)} |`,
    ].join('\n'),
  );
}

void main();
