export type NodeEnv = 'development' | 'production' | 'test';
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512';
export type DatabaseKind = 'sqlite' | 'mysql' | 'mariadb';
export const SQLITE_SYNCHRONOUS_MODES = ['NORMAL', 'FULL'] as const;
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS_MODES)[number];
/** VECTOR_STORE: where Mem0 keeps its vectors (memories and their entities). */
export const VECTOR_STORES = ['sqlite-vec', 'sql', 'qdrant', 'pgvector'] as const;
export type VectorStoreKind = (typeof VECTOR_STORES)[number];
/**
 * EMBEDDING_PROVIDER: who makes Mem0's vectors. `openai`: the OpenAI-compatible endpoint
 * (EMBEDDING_MODEL, EMBEDDING_DIMS); `local`: the model shipped in node_modules, in this process.
 */
export const EMBEDDING_PROVIDERS = ['openai', 'local'] as const;
export type EmbeddingProvider = (typeof EMBEDDING_PROVIDERS)[number];
/**
 * MEMORY_CONFLICT_SIMILARITY's default for each EMBEDDING_PROVIDER: the local model's cosines run
 * lower than OpenAI's (measured with `npm run eval:conflicts`; docs/decisions.md).
 */
export const DEFAULT_CONFLICT_SIMILARITY = { openai: 0.4, local: 0.35 } as const satisfies Record<
  EmbeddingProvider,
  number
>;
/**
 * MEMORY_SEARCH: how a memory search ranks. `fused`: the vector and keyword indexes' candidates
 * both, by a weighted sum of cosine similarity and relative BM25 (libs/ai/src/fused-search.ts);
 * `mem0`: Mem0's own search (the vector candidates only, re-ranked with a squashed BM25).
 */
export const MEMORY_SEARCH_MODES = ['fused', 'mem0'] as const;
export type MemorySearchMode = (typeof MEMORY_SEARCH_MODES)[number];
/** What EMBEDDING_PROVIDER=local runs (Universal Sentence Encoder lite), and its vectors' size. */
export const LOCAL_EMBEDDING_MODEL = 'universal-sentence-encoder-lite';
export const LOCAL_EMBEDDING_DIMS = 512;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const FAIL_MODES = ['open', 'closed'] as const;
/** What a limit does while its store cannot be reached: let the request through, or refuse it. */
export type FailMode = (typeof FAIL_MODES)[number];

export interface DatabaseConfig {
  kind: DatabaseKind;
  /** Connection URL for mysql/mariadb. */
  url?: string;
  /** File path (or ':memory:') for sqlite. */
  sqlitePath?: string;
  /** true: apply pending migrations at start (under a lock); false: wait for another process to. */
  migrationsRun: boolean;
  /** How long a start waits for the migration lock, or for the schema (DB_MIGRATIONS_WAIT_SECONDS). */
  migrationsWaitSeconds: number;
  /**
   * How every SQLite file the app writes (this database, Mem0's history and vectors) syncs its
   * write-ahead log: NORMAL at checkpoints (a power loss may undo the last commits, a process
   * crash loses nothing), FULL at every commit (each commit waits for the disk, on the event loop).
   */
  sqliteSynchronous: SqliteSynchronous;
  /**
   * How many times a write transaction runs before a deadlock, lock wait timeout or SQLite
   * "busy" is answered 503 (DB_RETRY_ATTEMPTS; 1 = no retry).
   */
  retryAttempts: number;
  /** MySQL/MariaDB `innodb_lock_wait_timeout` of the app's connections, in seconds. */
  lockWaitTimeoutSeconds: number;
  /** Drops every table before migrating. Only ever set by test harnesses, never from the environment. */
  dropSchema: boolean;
}

export interface AuthConfig {
  jwtSecret: string;
  jwtAlgorithm: JwtAlgorithm;
  jwtExpiresInSeconds: number;
  jwtIssuer: string;
  jwtAudience: string;
  bcryptCost: number;
  /** API_KEYS_MAX_PER_USER: the most personal API keys one account may hold (at least 1). */
  apiKeysMaxPerUser: number;
}

export interface AdminBootstrapConfig {
  username: string;
  email: string;
  password: string;
}

export interface AdminBootstrapSettings extends AdminBootstrapConfig {
  /** ADMIN_PROMOTE_EXISTING: an existing non-admin account with that username and email may be promoted. */
  promoteExisting: boolean;
}

/**
 * The OpenAI-compatible endpoint (chat model, extraction model) and Mem0's embedder. With
 * `embeddingProvider` `local` the embedder needs no endpoint: `embeddingModel` and
 * `embeddingDims` are then the local model's (LOCAL_EMBEDDING_MODEL, LOCAL_EMBEDDING_DIMS).
 */
export interface OpenAiConfig {
  apiKey?: string;
  baseUrl?: string;
  model: string;
  embeddingProvider: EmbeddingProvider;
  embeddingModel: string;
  embeddingDims: number;
  timeoutMs: number;
  maxRetries: number;
}

export interface ChatConfig {
  systemPrompt: string;
  /** How many earlier messages of the session the model sees. */
  historyWindow: number;
  /** How many of the user's memories are retrieved for a turn. */
  memoryLimit: number;
}

export interface MemoryJobsConfig {
  /** Run extraction workers in this process (switch off when a separate worker process runs them). */
  workersEnabled: boolean;
  concurrency: number;
  /** Up to this many pending turns of one session go to mem0 in one extraction. */
  batchSize: number;
  maxAttempts: number;
  leaseMs: number;
  pollMs: number;
  retryBaseMs: number;
  shutdownGraceMs: number;
  /** MEMORY_MAX_PER_USER: extraction stops (visibly) once a user holds this many; 0 = no cap. */
  maxMemoriesPerUser: number;
  /** MEMORY_MAX_FACTS_PER_TURN: the most new memories one turn can add. */
  maxFactsPerTurn: number;
  /**
   * MEMORY_RESOLVE_CONFLICTS: a new fact close to an existing memory of the user is weighed
   * against it by one more model call (update, retire, drop or keep both).
   */
  resolveConflicts: boolean;
  /** MEMORY_CONFLICT_SIMILARITY: how similar (cosine, 0-1) an existing memory must be to count. */
  conflictSimilarity: number;
}

/**
 * The vector store Mem0 uses (VECTOR_STORE) and how to reach it: `sqlite-vec` is a file under
 * DATA_DIR, `sql` the app's own MySQL/MariaDB database (DATABASE_URL), `qdrant` and `pgvector`
 * servers of their own (QDRANT_URL and QDRANT_API_KEY, PGVECTOR_URL).
 */
export interface MemoryStoreConfig {
  vectorStore: VectorStoreKind;
  search: MemorySearchMode;
  qdrant?: { url: string; apiKey?: string };
  pgvector?: { url: string };
}

export interface LimitsConfig {
  maxMessageChars: number;
  throttleLoginFailures: number;
  /** Login attempts per client address per hour, successful or not. */
  throttleLoginPerHour: number;
  throttleRegisterPerHour: number;
  throttleChatPerMinute: number;
  /** Memory calls that cost a model or embedding call (search, edit, summary) per user per minute. */
  throttleMemoryPerMinute: number;
  throttleSessionsPerHour: number;
  /** A summary is served from cache for at least this long, even when memories changed. */
  summaryMinIntervalSeconds: number;
}

/**
 * Where the abuse limits are counted. Without `url` (REDIS_URL) each process counts in its own
 * memory; with it every replica counts in one Redis, under `keyPrefix` (REDIS_KEY_PREFIX).
 */
export interface RedisConfig {
  url?: string;
  keyPrefix: string;
  /** REDIS_COMMAND_TIMEOUT_MS: the longest a request waits for one Redis call. */
  commandTimeoutMs: number;
  /** REDIS_FAIL_MODE_LIMITS: the request-rate rules (chat, registration, memory, sessions, logins per hour). */
  failModeLimits: FailMode;
  /** REDIS_FAIL_MODE_LOGIN: the failed-password budgets (login, the password asked to delete an account). */
  failModeLogin: FailMode;
}

/**
 * Every setting of the application, validated once at boot. Injected by class token,
 * so `constructor(private readonly config: AppConfig)` works anywhere.
 */
export class AppConfig {
  readonly nodeEnv!: NodeEnv;
  /**
   * `trustProxy` is Fastify's `trustProxy` (TRUST_PROXY): which proxies may set the client address.
   * `requestTimeoutMs` (HTTP_REQUEST_TIMEOUT_MS) is how long a client has to send its whole request,
   * headers and body; then the connection is closed (Node's `requestTimeout`).
   * `shutdownDrainSeconds` (SHUTDOWN_DRAIN_SECONDS): after SIGTERM, how long readiness answers 503
   * while the server still serves, so a load balancer stops sending before it closes.
   */
  readonly http!: {
    host: string;
    port: number;
    corsOrigins: string[];
    trustProxy: boolean | number | string;
    requestTimeoutMs: number;
    shutdownDrainSeconds: number;
  };
  readonly dataDir!: string;
  readonly database!: DatabaseConfig;
  readonly auth!: AuthConfig;
  readonly admin?: AdminBootstrapSettings;
  readonly openai!: OpenAiConfig;
  /** `overrides` is the JSON object read from MEM0_CONFIG_PATH, merged over the built config. */
  readonly mem0!: { overrides: Record<string, unknown> };
  readonly memory!: MemoryStoreConfig;
  readonly chat!: ChatConfig;
  readonly memoryJobs!: MemoryJobsConfig;
  readonly limits!: LimitsConfig;
  readonly redis!: RedisConfig;
  /** LOG_LEVEL; DEBUG=true (the original backend's name) is an alias for LOG_LEVEL=debug. */
  readonly log!: { level: LogLevel };
  /** Things worth a warning at start-up (e.g. a generated JWT secret). */
  readonly warnings!: string[];

  static of(values: Omit<AppConfig, 'isProduction'>): AppConfig {
    return Object.assign(new AppConfig(), values);
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }
}
