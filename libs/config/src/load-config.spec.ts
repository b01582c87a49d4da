import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { MemoryStoreConfig } from './app-config';
import { ConfigValidationError } from './env-reader';
import { loadConfig } from './load-config';

const SECRET = 's'.repeat(32);

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'config-spec-'));
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, ...env });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const dir = dataDir();
    const config = loadConfig({ DATA_DIR: dir, JWT_SECRET: SECRET });
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 8000,
      corsOrigins: [],
      trustProxy: false,
      requestTimeoutMs: 30_000,
      shutdownDrainSeconds: 0,
    });
    expect(config.database).toEqual({
      kind: 'sqlite',
      sqlitePath: join(dir, 'chatbot.sqlite'),
      migrationsRun: true,
      migrationsWaitSeconds: 300,
      sqliteSynchronous: 'NORMAL',
      retryAttempts: 4,
      lockWaitTimeoutSeconds: 5,
      dropSchema: false,
    });
    expect(config.auth).toMatchObject({
      jwtAlgorithm: 'HS256',
      jwtExpiresInSeconds: 24 * 3600,
      bcryptCost: 12,
      apiKeysMaxPerUser: 10,
    });
    expect(config.openai).toEqual({
      apiKey: undefined,
      baseUrl: undefined,
      model: 'gpt-4o-mini',
      embeddingProvider: 'openai',
      embeddingModel: 'text-embedding-3-small',
      embeddingDims: 1536,
      timeoutMs: 60_000,
      maxRetries: 2,
    });
    expect(config.chat).toMatchObject({ historyWindow: 20, memoryLimit: 5 });
    expect(config.memoryJobs).toEqual({
      workersEnabled: true,
      concurrency: 16,
      batchSize: 8,
      maxAttempts: 5,
      leaseMs: 120_000,
      pollMs: 500,
      retryBaseMs: 2000,
      shutdownGraceMs: 10_000,
      maxMemoriesPerUser: 1000,
      maxFactsPerTurn: 20,
      resolveConflicts: true,
      conflictSimilarity: 0.4,
    });
    expect(config.mem0).toEqual({ overrides: {} });
    expect(config.memory).toEqual({ vectorStore: 'sqlite-vec', search: 'fused' });
    expect(config.limits).toEqual({
      maxMessageChars: 8000,
      throttleLoginFailures: 10,
      throttleLoginPerHour: 100,
      throttleRegisterPerHour: 20,
      throttleChatPerMinute: 60,
      throttleMemoryPerMinute: 30,
      throttleSessionsPerHour: 100,
      summaryMinIntervalSeconds: 60,
    });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.admin).toBeUndefined();
    expect(config.redis).toEqual({
      url: undefined,
      keyPrefix: 'memory-chatbot:limits:',
      commandTimeoutMs: 500,
      failModeLimits: 'open',
      failModeLogin: 'closed',
    });
  });

  it.each([
    ['mysql://u:p@db:3306/chat', 'mysql'],
    ['mariadb://u:p@db:3306/chat', 'mariadb'],
  ])('selects the dialect from DATABASE_URL %s', (url, kind) => {
    expect(
      loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, DATABASE_URL: url }).database,
    ).toMatchObject({ kind, url });
  });

  it('reads SQLITE_SYNCHRONOUS: NORMAL by default, FULL on request, nothing else', () => {
    const base = { DATA_DIR: dataDir(), JWT_SECRET: SECRET };
    expect(loadConfig({ ...base, SQLITE_SYNCHRONOUS: 'FULL' }).database.sqliteSynchronous).toBe(
      'FULL',
    );
    expect(() => loadConfig({ ...base, SQLITE_SYNCHRONOUS: 'OFF' })).toThrow(/SQLITE_SYNCHRONOUS/);
  });

  it('accepts sqlite:PATH and sqlite::memory:', () => {
    const base = { DATA_DIR: dataDir(), JWT_SECRET: SECRET };
    expect(loadConfig({ ...base, DATABASE_URL: 'sqlite:/tmp/x.db' }).database.sqlitePath).toBe(
      '/tmp/x.db',
    );
    expect(loadConfig({ ...base, DATABASE_URL: 'sqlite::memory:' }).database.sqlitePath).toBe(
      ':memory:',
    );
  });

  it.each([
    [{ API_PORT: 'eighty' }, 'API_PORT must be an integer'],
    [{ API_PORT: '70000' }, 'API_PORT must be at most 65535'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '500' }, 'HTTP_REQUEST_TIMEOUT_MS must be at least 1000'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '600000' }, 'HTTP_REQUEST_TIMEOUT_MS must be at most 300000'],
    [{ JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM must be one of HS256, HS384, HS512'],
    [{ JWT_ALGORITHM: 'RS256' }, 'JWT_ALGORITHM must be one of'],
    [{ BCRYPT_COST: '9' }, 'BCRYPT_COST must be at least 10'],
    [{ DEBUG: 'maybe' }, 'DEBUG must be true or false'],
    [{ MEMORY_WORKERS_ENABLED: 'sometimes' }, 'MEMORY_WORKERS_ENABLED must be true or false'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL must use mysql: or mariadb:'],
    [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL must be a valid URL'],
    [{ OPENAI_BASE_URL: 'ftp://x' }, 'OPENAI_BASE_URL must use http: or https:'],
    [{ JWT_EXPIRATION_HOURS: '0' }, 'JWT_EXPIRATION_HOURS must be at least 1'],
    [{ ADMIN_USERNAME: 'boss' }, 'must be set together'],
    [
      { MEM0_CONFIG_PATH: '/nonexistent/mem0.json' },
      'MEM0_CONFIG_PATH names a file that cannot be read',
    ],
    [{ MEMORY_WORKER_CONCURRENCY: '0' }, 'MEMORY_WORKER_CONCURRENCY must be at least 1'],
    [{ VECTOR_STORE: 'chroma' }, 'VECTOR_STORE must be one of sqlite-vec, sql, qdrant, pgvector'],
    [{ VECTOR_STORE: 'sql' }, 'VECTOR_STORE sql needs DATABASE_URL to be a mysql:// or mariadb://'],
    [{ VECTOR_STORE: 'qdrant' }, 'QDRANT_URL must be set when VECTOR_STORE=qdrant'],
    [{ VECTOR_STORE: 'qdrant', QDRANT_URL: 'qdrant:6333' }, 'QDRANT_URL must use http: or https:'],
    [{ VECTOR_STORE: 'qdrant', QDRANT_URL: 'not a url' }, 'QDRANT_URL must be a valid URL'],
    [{ VECTOR_STORE: 'pgvector' }, 'PGVECTOR_URL must be set when VECTOR_STORE=pgvector'],
    [
      { VECTOR_STORE: 'pgvector', PGVECTOR_URL: 'mysql://x@y/z' },
      'PGVECTOR_URL must use postgres: or postgresql:',
    ],
    [
      { ADMIN_USERNAME: 'x', ADMIN_EMAIL: 'nope', ADMIN_PASSWORD: 'short' },
      'ADMIN_USERNAME must be 3-32',
    ],
  ])('names the bad variable: %o', (env, message) => {
    expect(problemsOf(env)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });

  it('chooses the vector store: the MySQL/MariaDB database itself by default, else sqlite-vec', () => {
    const store = (env: Record<string, string>) => {
      const memory: Partial<MemoryStoreConfig> = {
        ...loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, ...env }).memory,
      };
      delete memory.search;
      return memory;
    };
    expect(store({ DATABASE_URL: 'mysql://u@db/chatbot' })).toEqual({ vectorStore: 'sql' });
    expect(store({ DATABASE_URL: 'mariadb://u@db/chatbot' })).toEqual({ vectorStore: 'sql' });
    expect(store({ DATABASE_URL: 'sqlite::memory:' })).toEqual({ vectorStore: 'sqlite-vec' });
    expect(store({ DATABASE_URL: 'mysql://u@db/chatbot', VECTOR_STORE: 'sqlite-vec' })).toEqual({
      vectorStore: 'sqlite-vec',
    });
    expect(store({ VECTOR_STORE: 'Qdrant', QDRANT_URL: 'http://q:6333' })).toEqual({
      vectorStore: 'qdrant',
      qdrant: { url: 'http://q:6333', apiKey: undefined },
    });
    expect(store({ VECTOR_STORE: 'pgvector', PGVECTOR_URL: 'postgres://u:p@pg/v' })).toEqual({
      vectorStore: 'pgvector',
      pgvector: { url: 'postgres://u:p@pg/v' },
    });
  });

  it('MEMORY_SEARCH: fused by default, mem0 on request, nothing else', () => {
    const load = (env: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, ...env }).memory.search;
    expect(load({})).toBe('fused');
    expect(load({ MEMORY_SEARCH: 'mem0' })).toBe('mem0');
    expect(problemsOf({ MEMORY_SEARCH: 'bm25' })).toEqual([
      expect.stringContaining('MEMORY_SEARCH'),
    ]);
  });

  describe('EMBEDDING_PROVIDER', () => {
    const load = (env: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, ...env });

    it('local: the shipped model at its own size, with no endpoint', () => {
      const config = load({ EMBEDDING_PROVIDER: 'local' });
      expect(config.openai).toMatchObject({
        apiKey: undefined,
        baseUrl: undefined,
        embeddingProvider: 'local',
        embeddingModel: 'universal-sentence-encoder-lite',
        embeddingDims: 512,
      });
      expect(load({ EMBEDDING_PROVIDER: 'LOCAL', EMBEDDING_DIMS: '512' }).openai).toMatchObject({
        embeddingProvider: 'local',
        embeddingDims: 512,
      });
    });

    it('local: refuses another EMBEDDING_DIMS, warns that EMBEDDING_MODEL is not used', () => {
      expect(problemsOf({ EMBEDDING_PROVIDER: 'local', EMBEDDING_DIMS: '1536' })).toEqual([
        'EMBEDDING_DIMS must be 512 or unset with EMBEDDING_PROVIDER=local (the size of ' +
          "universal-sentence-encoder-lite's vectors), got 1536",
      ]);
      const config = load({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL: 'nomic-embed-text' });
      expect(config.openai.embeddingModel).toBe('universal-sentence-encoder-lite');
      expect(config.warnings).toContain(
        'EMBEDDING_MODEL is set but EMBEDDING_PROVIDER is local: it is not used ' +
          '(the local model is universal-sentence-encoder-lite)',
      );
    });

    it('accepts only openai and local', () => {
      expect(problemsOf({ EMBEDDING_PROVIDER: 'ollama' })).toEqual([
        'EMBEDDING_PROVIDER must be one of openai, local, got "ollama"',
      ]);
    });
  });

  it('warns about a store setting VECTOR_STORE does not use', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      JWT_SECRET: SECRET,
      QDRANT_URL: 'http://q:6333',
    });
    expect(config.warnings).toContain(
      'QDRANT_URL is set but VECTOR_STORE is sqlite-vec: it is not used',
    );
  });

  it('refuses a MEM0_CONFIG_PATH choosing a vector store whose erasure is not verified', () => {
    const file = join(dataDir(), 'mem0.json');
    writeFileSync(file, JSON.stringify({ vectorStore: { provider: 'chroma' } }));
    expect(problemsOf({ MEM0_CONFIG_PATH: file })).toEqual([
      'MEM0_CONFIG_PATH sets vectorStore.provider "chroma": only sqlite-vec, sql, qdrant, ' +
        'pgvector, memory are supported (account erasure is verified for those); prefer VECTOR_STORE',
    ]);
    writeFileSync(file, JSON.stringify({ vectorStore: { provider: 'memory' } }));
    expect(problemsOf({ MEM0_CONFIG_PATH: file })).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ API_PORT: 'x', DEBUG: 'x', BCRYPT_COST: 'x' })).toHaveLength(3);
    expect(() => loadConfig({ DATA_DIR: dataDir(), API_PORT: 'x' })).toThrow(
      /Invalid configuration:\n {2}- API_PORT/,
    );
  });

  it('accepts booleans and numbers in their usual spellings', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      JWT_SECRET: SECRET,
      DEBUG: 'TRUE',
      DB_MIGRATIONS_RUN: '0',
      THROTTLE_CHAT_PER_MINUTE: '0',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      JWT_ALGORITHM: 'hs512',
      MEMORY_WORKERS_ENABLED: 'off',
    });
    expect(config.log).toEqual({ level: 'debug' });
    expect(config.database.migrationsRun).toBe(false);
    expect(config.limits.throttleChatPerMinute).toBe(0);
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.auth.jwtAlgorithm).toBe('HS512');
    expect(config.memoryJobs.workersEnabled).toBe(false);
  });

  it('reads the conflict settings: a switch and a similarity between 0 and 1', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      JWT_SECRET: SECRET,
      MEMORY_RESOLVE_CONFLICTS: 'false',
      MEMORY_CONFLICT_SIMILARITY: '.65',
    });
    expect(config.memoryJobs).toMatchObject({ resolveConflicts: false, conflictSimilarity: 0.65 });
    // By default, what counts as close depends on the embedder (the local model's cosines run lower).
    const closeFrom = (env: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: SECRET, ...env }).memoryJobs.conflictSimilarity;
    expect(closeFrom({})).toBe(0.4);
    expect(closeFrom({ EMBEDDING_PROVIDER: 'local' })).toBe(0.35);
    expect(closeFrom({ EMBEDDING_PROVIDER: 'local', MEMORY_CONFLICT_SIMILARITY: '0.5' })).toBe(0.5);
    expect(problemsOf({ MEMORY_CONFLICT_SIMILARITY: '1' })).toEqual([]);
    expect(problemsOf({ MEMORY_CONFLICT_SIMILARITY: '1.5' })).toEqual([
      'MEMORY_CONFLICT_SIMILARITY must be at most 1, got 1.5',
    ]);
    expect(problemsOf({ MEMORY_CONFLICT_SIMILARITY: 'high' })).toEqual([
      'MEMORY_CONFLICT_SIMILARITY must be a number, got "high"',
    ]);
    expect(problemsOf({ MEMORY_RESOLVE_CONFLICTS: 'maybe' })).toEqual([
      'MEMORY_RESOLVE_CONFLICTS must be true or false, got "maybe"',
    ]);
  });

  describe('Redis for shared limits', () => {
    const base = () => ({ DATA_DIR: dataDir(), JWT_SECRET: SECRET });

    it.each([
      'redis://127.0.0.1:6379',
      'redis://:pw@redis:6379/1',
      'rediss://cache.example:6380/0',
    ])('accepts REDIS_URL %s', (url) => {
      expect(loadConfig({ ...base(), REDIS_URL: url }).redis.url).toBe(url);
    });

    it('reads the prefix, the timeout and both fail modes', () => {
      const config = loadConfig({
        ...base(),
        REDIS_URL: 'redis://127.0.0.1:6379/1',
        REDIS_KEY_PREFIX: 'eu-1:chat:',
        REDIS_COMMAND_TIMEOUT_MS: '200',
        REDIS_FAIL_MODE_LIMITS: 'CLOSED',
        REDIS_FAIL_MODE_LOGIN: 'open',
      });
      expect(config.redis).toEqual({
        url: 'redis://127.0.0.1:6379/1',
        keyPrefix: 'eu-1:chat:',
        commandTimeoutMs: 200,
        failModeLimits: 'closed',
        failModeLogin: 'open',
      });
    });

    it.each([
      [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL must use redis: or rediss:, got "http:"'],
      [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must use redis: or rediss:'],
      [{ REDIS_URL: 'not a url' }, 'REDIS_URL must be a valid URL'],
      [
        { REDIS_URL: 'redis://127.0.0.1:6379/cache' },
        'REDIS_URL may name a database by number only',
      ],
      [{ REDIS_KEY_PREFIX: 'a{b}' }, 'REDIS_KEY_PREFIX must be 1-64 of [A-Za-z0-9:_.-]'],
      [{ REDIS_KEY_PREFIX: 'x'.repeat(65) }, 'REDIS_KEY_PREFIX must be 1-64'],
      [{ REDIS_COMMAND_TIMEOUT_MS: '5' }, 'REDIS_COMMAND_TIMEOUT_MS must be at least 10'],
      [{ REDIS_FAIL_MODE_LIMITS: 'maybe' }, 'REDIS_FAIL_MODE_LIMITS must be one of open, closed'],
      [{ REDIS_FAIL_MODE_LOGIN: 'fail' }, 'REDIS_FAIL_MODE_LOGIN must be one of open, closed'],
    ])('refuses %o', (env, message) => {
      expect(problemsOf(env)).toEqual([expect.stringContaining(message)]);
    });
  });

  describe('JWT_SECRET', () => {
    it('is generated once outside production, kept with mode 0600, with a warning', () => {
      const dir = dataDir();
      const first = loadConfig({ DATA_DIR: dir });
      const second = loadConfig({ DATA_DIR: dir });
      expect(first.auth.jwtSecret).toHaveLength(128);
      expect(second.auth.jwtSecret).toBe(first.auth.jwtSecret);
      const file = join(dir, 'jwt-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(first.auth.jwtSecret);
      expect(first.warnings).toEqual([expect.stringContaining('JWT_SECRET is unset')]);
    });

    it('replaces a truncated secret file rather than using it', () => {
      const dir = dataDir();
      writeFileSync(join(dir, 'jwt-secret'), 'short');
      expect(loadConfig({ DATA_DIR: dir }).auth.jwtSecret).toHaveLength(128);
    });

    it('is required with at least 32 bytes in production', () => {
      const base = { DATA_DIR: dataDir(), NODE_ENV: 'production' };
      expect(() => loadConfig(base)).toThrow(/JWT_SECRET must be set to at least 32 bytes/);
      expect(() => loadConfig({ ...base, JWT_SECRET: 'x'.repeat(31) })).toThrow(/JWT_SECRET/);
      expect(loadConfig({ ...base, JWT_SECRET: 'x'.repeat(32) }).auth.jwtSecret).toBe(
        'x'.repeat(32),
      );
    });

    it('warns about a short secret outside production', () => {
      const config = loadConfig({ DATA_DIR: dataDir(), JWT_SECRET: 'short' });
      expect(config.warnings).toEqual([expect.stringContaining('shorter than 32 bytes')]);
    });
  });
});
