import { loadConfig } from '@app/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildMem0Config } from './mem0-config';
import { reEmbed } from './re-embed';
import { checkVectorStore } from './vector-store-check';
import { SqliteVecStore } from './vector-store/sqlite-vec.store';

describe('checkVectorStore', () => {
  const mem0Config = (env: Record<string, string> = {}) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'store-check-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      JWT_SECRET: 'k'.repeat(32),
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      EMBEDDING_DIMS: '8',
      ...env,
    });
    return { built: buildMem0Config(config), dbPath: join(dataDir, 'mem0', 'vectors.db') };
  };
  const settings = {
    name: 'EMBEDDING_MODEL=nomic-embed-text',
    variables: 'EMBEDDING_MODEL and EMBEDDING_DIMS',
  };

  it('passes an empty sqlite-vec store, and one holding vectors of the embedder’s size', async () => {
    const { built, dbPath } = mem0Config();
    await expect(checkVectorStore(built, settings)).resolves.toBeUndefined();
    const store = new SqliteVecStore({ dbPath, dimension: 8 });
    await store.initialize();
    await store.insert([[1, 0, 0, 0, 0, 0, 0, 0]], ['m1'], [{ user_id: 'u', data: 'x' }]);
    store.close();
    await expect(checkVectorStore(built, settings)).resolves.toBeUndefined();
  });

  it('stops on entity vectors of another size, naming the collection and the way out', async () => {
    const { built, dbPath } = mem0Config();
    const store = new SqliteVecStore({ dbPath, dimension: 4, collectionName: 'memories_entities' });
    await store.initialize();
    await store.insert([[1, 0, 0, 0]], ['e1'], [{ user_id: 'u', data: 'porto' }]);
    store.close();
    await expect(checkVectorStore(built, settings)).rejects.toThrow(
      'The vector store holds 4-dimension vectors in "memories_entities", but the embedder ' +
        '(EMBEDDING_MODEL=nomic-embed-text) makes 8: run "npm run cli -- re-embed"',
    );
  });

  it('stops a switch to the local model on a store of another size, naming the way back', async () => {
    const { built, dbPath } = mem0Config({ EMBEDDING_PROVIDER: 'local', EMBEDDING_DIMS: '' });
    const store = new SqliteVecStore({ dbPath, dimension: 8 });
    await store.initialize();
    await store.insert([[1, 0, 0, 0, 0, 0, 0, 0]], ['m1'], [{ user_id: 'u', data: 'x' }]);
    store.close();
    const local = { name: 'EMBEDDING_PROVIDER=local', variables: 'EMBEDDING_PROVIDER' };
    await expect(checkVectorStore(built, local)).rejects.toThrow(
      'The vector store holds 8-dimension vectors in "memories", but the embedder ' +
        '(EMBEDDING_PROVIDER=local) makes 512: run "npm run cli -- re-embed" with the new ' +
        'settings to re-embed every memory (docs/operations.md), or set EMBEDDING_PROVIDER back',
    );
  });

  it('leaves re-embedding stores it cannot size to their own tools', async () => {
    const { built } = mem0Config({ VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://q:6333' });
    await expect(
      reEmbed(built, {
        backupDir: mkdtempSync(join(tmpdir(), 're-embed-')),
        batchSize: 1,
        log: () => undefined,
      }),
    ).rejects.toThrow('re-embed works on the sqlite-vec and sql vector stores, not qdrant');
  });
});
