/**
 * `npm run eval:conflicts`: how close the local embedder puts a memory and a newer fact that
 * changes it, against pairs about different things, and so which MEMORY_CONFLICT_SIMILARITY asks
 * the model about which (see eval/README.md). No Mem0, no store: the embedder alone.
 *
 *   npm run eval:conflicts [-- <pairs.json>]     (default eval/datasets/conflict-pairs.json)
 */
import { join } from 'node:path';

import { DEFAULT_CONFLICT_SIMILARITY } from '@app/config';

import { loadConflictPairs, measureConflictPairs } from './lib/conflicts';
import { localEmbedder, LOCAL_MODEL } from './lib/embedders';

async function main(): Promise<void> {
  const path = process.argv[2] ?? join(__dirname, 'datasets', 'conflict-pairs.json');
  const pairs = loadConflictPairs(path);
  const embedder = await localEmbedder();
  try {
    const { updates, unrelated, rows } = await measureConflictPairs(pairs, embedder);
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
    console.log(`${LOCAL_MODEL}, ${updates.length} update pairs, ${unrelated.length} unrelated`);
    console.log(`cosine of updates, lowest first:   ${list(updates)}`);
    console.log(`cosine of unrelated, lowest first: ${list(unrelated)}`);
    console.log('\n| threshold | updates asked about | unrelated asked about |');
    console.log('|---:|---:|---:|');
    for (const { threshold, caught, needless } of rows) {
      const mark = threshold === DEFAULT_CONFLICT_SIMILARITY.local ? ' (default)' : '';
      console.log(
        `| ${threshold}${mark} | ${caught}/${updates.length} | ${needless}/${unrelated.length} |`,
      );
    }
  } finally {
    await embedder.close();
  }
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
