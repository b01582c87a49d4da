import { loadConfig } from '@app/config';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildMem0Config, deepMerge } from './mem0-config';

describe('buildMem0Config', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mem0-config-spec-'));
  const base = {
    DATA_DIR: dataDir,
    JWT_SECRET: 'k'.repeat(32),
    OPENAI_BASE_URL: 'http://models.internal/v1',
    MODEL_CHOICE: 'llama3.1',
    EMBEDDING_MODEL: 'nomic-embed-text',
    EMBEDDING_DIMS: '768',
  };

  it('points embedder and extraction LLM at the configured endpoint and keeps files under DATA_DIR', () => {
    const config = buildMem0Config(loadConfig(base));
    expect(config).toMatchObject({
      embedder: {
        provider: 'openai',
        config: {
          baseURL: 'http://models.internal/v1',
          model: 'nomic-embed-text',
          embeddingDims: 768,
        },
      },
      llm: {
        provider: 'openai',
        config: { baseURL: 'http://models.internal/v1', model: 'llama3.1' },
      },
      vectorStore: {
        provider: 'sqlite-vec',
        config: {
          collectionName: 'memories',
          dimension: 768,
          dbPath: join(dataDir, 'mem0', 'vectors.db'),
          synchronous: 'NORMAL',
          migrateFrom: {
            memories: join(dataDir, 'mem0', 'vector_store.db'),
            memories_entities: join(dataDir, 'mem0', 'vector_store_entities.db'),
          },
        },
      },
      historyStore: {
        provider: 'sqlite',
        config: { historyDbPath: join(dataDir, 'mem0', 'history.db') },
      },
    });
  });

  it('EMBEDDING_PROVIDER=local: a marker for the local model at its size, the LLM unchanged', () => {
    const local = { ...base, EMBEDDING_PROVIDER: 'local', EMBEDDING_DIMS: '' };
    const config = buildMem0Config(loadConfig(local));
    expect(config.embedder).toEqual({
      provider: 'local',
      config: { model: 'universal-sentence-encoder-lite', embeddingDims: 512 },
    });
    expect(config).toMatchObject({
      llm: { provider: 'openai', config: { baseURL: 'http://models.internal/v1' } },
      vectorStore: { config: { dimension: 512 } },
    });
    // Plain data: it crosses into the search thread, which puts its own model in its place.
    expect(structuredClone(config)).toEqual(config);
  });

  it('merges MEM0_CONFIG_PATH over the built config', () => {
    const file = join(dataDir, 'mem0.json');
    writeFileSync(
      file,
      JSON.stringify({
        vectorStore: { provider: 'qdrant', config: { url: 'http://qdrant:6333' } },
        llm: { config: { temperature: 0 } },
      }),
    );
    const config = buildMem0Config(loadConfig({ ...base, MEM0_CONFIG_PATH: file }));
    expect(config.vectorStore).toEqual({
      provider: 'qdrant',
      config: { collectionName: 'memories', dimension: 768, url: 'http://qdrant:6333' },
    });
    expect(config.llm).toMatchObject({
      provider: 'openai',
      config: { model: 'llama3.1', temperature: 0 },
    });
  });

  it("keeps mem0's own memory store selectable, with no sqlite-vec settings", () => {
    const file = join(dataDir, 'memory-store.json');
    const dbPath = join(dataDir, 'mem0', 'vector_store.db');
    writeFileSync(
      file,
      JSON.stringify({ vectorStore: { provider: 'memory', config: { dbPath } } }),
    );
    const config = buildMem0Config(loadConfig({ ...base, MEM0_CONFIG_PATH: file }));
    expect(config.vectorStore).toEqual({
      provider: 'memory',
      config: { collectionName: 'memories', dimension: 768, dbPath },
    });
  });

  it.each([
    [{}, { provider: 'sqlite-vec' }],
    [
      { DATABASE_URL: 'mariadb://root@db:3306/chatbot' },
      { provider: 'sql', config: { url: 'mariadb://root@db:3306/chatbot' } },
    ],
    [
      { VECTOR_STORE: 'qdrant', QDRANT_URL: 'https://q.example:6333', QDRANT_API_KEY: 'key' },
      { provider: 'qdrant', config: { url: 'https://q.example:6333', apiKey: 'key' } },
    ],
    [
      { VECTOR_STORE: 'pgvector', PGVECTOR_URL: 'postgresql://u:p@pg:5432/vectors' },
      {
        provider: 'pgvector',
        config: { connectionString: 'postgresql://u:p@pg:5432/vectors', embeddingModelDims: 768 },
      },
    ],
  ])('builds the vector store VECTOR_STORE names: %o', (env, expected) => {
    const { vectorStore } = buildMem0Config(loadConfig({ ...base, ...env }));
    expect(vectorStore).toMatchObject(expected);
    // Every store holds the memories in one collection (entities beside it) of the embedder's size.
    expect(vectorStore).toMatchObject({ config: { collectionName: 'memories', dimension: 768 } });
  });

  it('gives a Qdrant without an API key none', () => {
    const config = loadConfig({ ...base, VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://q:6333' });
    expect(buildMem0Config(config).vectorStore).toEqual({
      provider: 'qdrant',
      config: { collectionName: 'memories', dimension: 768, url: 'http://q:6333' },
    });
  });

  it('keeps vectors, entities and history in the app database on MySQL/MariaDB', () => {
    const url = 'mariadb://app:secret@db.internal:3306/chatbot';
    const config = buildMem0Config(loadConfig({ ...base, DATABASE_URL: url }));
    expect(config.vectorStore).toEqual({
      provider: 'sql',
      config: { url, collectionName: 'memories', dimension: 768, bm25: { k1: 1.2, b: 0 } },
    });
    expect(config.historyStore).toEqual({ provider: 'sql', config: { url } });
  });

  it("gives the project's stores the fused search's BM25, and Mem0's own under MEMORY_SEARCH=mem0", () => {
    const store = (env: Record<string, string>) =>
      (buildMem0Config(loadConfig({ ...base, ...env })).vectorStore as { config: object }).config;
    const url = 'mysql://app:secret@db.internal:3306/chatbot';
    expect(store({})).toMatchObject({ bm25: { k1: 1.2, b: 0 } });
    expect(store({ DATABASE_URL: url })).toMatchObject({ bm25: { k1: 1.2, b: 0 } });
    expect(store({ MEMORY_SEARCH: 'mem0' })).not.toHaveProperty('bm25');
    expect(store({ DATABASE_URL: url, MEMORY_SEARCH: 'mem0' })).not.toHaveProperty('bm25');
    expect(store({ VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://q:6333' })).not.toHaveProperty(
      'bm25',
    );
  });

  it('keeps the history in the database when another vector store is chosen, without its url', () => {
    const on = loadConfig({
      ...base,
      DATABASE_URL: 'mysql://app:secret@db.internal:3306/chatbot',
      VECTOR_STORE: 'qdrant',
      QDRANT_URL: 'http://qdrant:6333',
    });
    expect(buildMem0Config(on).historyStore).toEqual({
      provider: 'sql',
      config: { url: 'mysql://app:secret@db.internal:3306/chatbot' },
    });
    // The same through MEM0_CONFIG_PATH.
    const file = join(dataDir, 'qdrant-on-mysql.json');
    writeFileSync(
      file,
      JSON.stringify({
        vectorStore: { provider: 'qdrant', config: { url: 'http://qdrant:6333' } },
      }),
    );
    const url = 'mysql://app:secret@db.internal:3306/chatbot';
    const config = buildMem0Config(
      loadConfig({ ...base, DATABASE_URL: url, MEM0_CONFIG_PATH: file }),
    );
    expect(config.vectorStore).toEqual({
      provider: 'qdrant',
      config: { collectionName: 'memories', dimension: 768, url: 'http://qdrant:6333' },
    });
    expect(config.historyStore).toEqual({ provider: 'sql', config: { url } });
  });

  it('refuses a MEM0_CONFIG_PATH that is not a JSON object', () => {
    const file = join(dataDir, 'broken.json');
    writeFileSync(file, '[1, 2');
    expect(() => loadConfig({ ...base, MEM0_CONFIG_PATH: file })).toThrow(
      /MEM0_CONFIG_PATH must name a file holding a JSON object/,
    );
  });
});

describe('deepMerge', () => {
  it('merges objects key by key and replaces arrays and scalars', () => {
    expect(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: { e: 1 } })).toEqual({
      a: { b: 1, c: [2] },
      d: { e: 1 },
    });
  });
});
