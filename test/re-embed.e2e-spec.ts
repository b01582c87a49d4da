import { buildMem0Config, reEmbed } from '@app/ai';
import { Env, loadConfig } from '@app/config';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

import { TEST_DATABASES } from './support/databases';
import { RunningProcess, runEntry } from './support/process';
import {
  bearer,
  chatTurn,
  memoryJobsDone,
  registerUser,
  TestApp,
  TestUser,
} from './support/test-app';
import { useApp } from './support/use-app';

const FACTS = [
  'I live in Porto with Anna Schmidt.',
  'I work at Acme Shipping.',
  'My cello was made in Vienna.',
];

async function exited(run: RunningProcess): Promise<number | null> {
  const [code] = (await once(run.child, 'exit')) as [number | null];
  return code;
}

const memories = async (t: TestApp, u: TestUser) =>
  (await t.http().get('/api/v1/memories').set(bearer(u.token)).expect(200)).body.items.map(
    (m: { memory: string }) => m.memory,
  ) as string[];

/**
 * Changing the embedding size against a store that holds vectors: the API and the worker refuse
 * to start and say how to re-embed; `npm run cli -- re-embed` rewrites the store (surviving a
 * run that fails half-way); then the app starts and finds the memories by meaning again.
 */
describe.each(TEST_DATABASES)('re-embedding on $name', (db) => {
  const t = useApp(db, { double: true });

  it('refuses a start on another embedding size until re-embed has rewritten the store', async () => {
    const u = await registerUser(t);
    for (const fact of FACTS) await chatTurn(t, u, fact);
    await memoryJobsDone(t, u.id);
    expect((await memories(t, u)).sort()).toEqual([...FACTS].sort());
    await t.close();

    // The double embeds at the size asked: 64 until now, 32 from here on.
    const env: Env = { ...t.env, EMBEDDING_DIMS: '32', API_HOST: '127.0.0.1', API_PORT: '0' };
    for (const entry of ['apps/api/src/main.ts', 'apps/worker/src/main.ts']) {
      const run = runEntry(entry, env);
      expect(await exited(run)).toBe(1);
      expect(run.output().trim()).toBe(
        'The vector store holds 64-dimension vectors in "memories", but the embedder ' +
          '(EMBEDDING_MODEL=text-embedding-3-small) makes 32: run "npm run cli -- re-embed" with ' +
          'the new settings to re-embed every memory (docs/operations.md), or set ' +
          'EMBEDDING_MODEL and EMBEDDING_DIMS back',
      );
    }

    // A run whose embedder fails after the first batch (past the SDK's retries) stops half-way.
    const config = loadConfig(env);
    const backupDir = join(config.dataDir, 'mem0', 're-embed');
    const halfway = reEmbed(buildMem0Config(config), {
      backupDir,
      batchSize: 1,
      log: (line) => {
        if (line === 'memories: 1/3') t.double.failNext({ path: 'embeddings', times: 10 });
      },
    });
    await expect(halfway).rejects.toThrow();
    expect(existsSync(join(backupDir, 'memories.json'))).toBe(true);
    t.double.reset();

    // The command resumes from the backup it kept.
    const cli = runEntry('apps/api/src/cli.ts', env, ['re-embed', '--batch-size', '2']);
    expect(await exited(cli)).toBe(0);
    expect(cli.output()).toContain('memories: resuming from');
    expect(cli.output()).toMatch(
      /^Re-embedded at 32 dimensions: memories: 3 rows \(were 64 dimensions\), memories_entities: \d+ rows \(were 64 dimensions\)$/m,
    );
    expect(existsSync(join(backupDir, 'memories.json'))).toBe(false);

    t.double.clear();
    const again = await t.startAnother({ DATA_DIR: t.env.DATA_DIR, EMBEDDING_DIMS: '32' });
    expect((await memories(again, u)).sort()).toEqual([...FACTS].sort());
    const found = await again
      .http()
      .post('/api/v1/memories/search')
      .set(bearer(u.token))
      .send({ query: 'Where was my cello made?', limit: 1 })
      .expect(200);
    expect(found.body.results.map((m: { memory: string }) => m.memory)).toEqual([FACTS[2]]);
    const sizes = t.double.embeddingRequests().map((r) => r.dimensions);
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.every((size) => size === 32)).toBe(true);
  });
});
