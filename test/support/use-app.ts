import type { Env } from '@app/config';
import type { DestinationStream } from 'pino';

import { TestDatabase } from './databases';
import { OpenAiTestDouble, OpenAiTestDoubleOptions } from './openai-double';
import { RunningProcess, runEntry } from './process';
import { bearer, login, modelEnv, startApp, testEnv, TestApp, TestUser } from './test-app';

/** The bootstrap admin `admin: true` asks for (ADMIN_USERNAME, ADMIN_EMAIL, ADMIN_PASSWORD). */
export const DEFAULT_ADMIN = {
  username: 'root_admin',
  email: 'root@example.com',
  password: 'admin password 1',
};
export type AdminAccount = typeof DEFAULT_ADMIN;

/**
 * `true`: a double of 64-dimensional embeddings (what `modelEnv` tells the app); options: a double
 * made with them; an instance: one the spec shares between fixtures (see `useDouble`). The app is
 * pointed at it either way.
 */
export type DoubleOption = true | OpenAiTestDoubleOptions | OpenAiTestDouble;

export interface UseAppsOptions {
  /** An OpenAI test double as the app's model and embedder; without it no model is configured. */
  double?: DoubleOption;
  /**
   * Variables over `testEnv` (and `modelEnv`, with a double): for the main app (useApp; not for
   * `startAnother`), or for every app started (useApps).
   */
  env?: Env;
}

export interface UseAppOptions extends UseAppsOptions {
  /** The bootstrap admin (DEFAULT_ADMIN for `true`), logged in before the first test: `t.admin`. */
  admin?: true | AdminAccount;
  /** Receives the main app's log lines (give LOG_LEVEL in `env` too: tests default to silent). */
  logDestination?: DestinationStream;
  /** Runs before the apps close, e.g. to let background work end first. */
  beforeClose?: (t: TestApp) => Promise<unknown>;
}

/** Apps a spec starts itself, each closed after the suite unless the spec closed it already. */
export interface AppStarter {
  readonly double: OpenAiTestDouble;
  /** An app on testEnv(db, modelEnv + the fixture's `env` + `overrides`): a new DATA_DIR each. */
  start(overrides?: Env, options?: { fresh?: boolean }): Promise<TestApp>;
}

/** The main app of a suite: a TestApp (so every helper takes it) and what came with it. */
export interface AppFixture extends TestApp {
  readonly double: OpenAiTestDouble;
  /** The main app's environment (its DATA_DIR, DATABASE_URL, model variables). */
  readonly env: Env;
  /** The bootstrap admin; its id and token are there once the app started. */
  readonly admin: TestUser;
  /** Closes the main app and starts it again on the same environment, keeping the data. */
  restart(): Promise<void>;
  /**
   * Another app on the same database and double, with only `overrides` over testEnv and
   * modelEnv (not the main app's `env`); it keeps the schema (`fresh: false`) unless told.
   */
  startAnother(overrides?: Env, options?: { fresh?: boolean }): Promise<TestApp>;
  /** apps/worker as its own process on the main app's environment; killed after the suite. */
  spawnWorker(overrides?: Env): RunningProcess;
}

/**
 * An OpenAI test double for the suite: started before it, its faults undone after each test
 * (`reset()`), stopped after the suite. For a double shared by several `useApp` fixtures.
 */
export function useDouble(options: OpenAiTestDoubleOptions = { embeddingDims: 64 }) {
  const double = new OpenAiTestDouble(options);
  beforeAll(() => double.start());
  afterEach(() => double.reset());
  afterAll(() => double.stop());
  return double;
}

function noDouble(): never {
  throw new Error('This fixture has no test double: pass `double` to useApp/useApps');
}

/**
 * Registers the hooks that start what a suite's apps need and close it afterwards: the double
 * (if the fixture owns it), then `first` (useApp's main app); after the suite, `beforeClose`, then
 * every app still open (the latest first), then the double.
 */
function appHooks(
  db: TestDatabase,
  options: UseAppsOptions,
  first?: () => Promise<void>,
  beforeClose?: () => Promise<unknown>,
) {
  const given = options.double;
  const owned =
    given === undefined || given instanceof OpenAiTestDouble
      ? undefined
      : new OpenAiTestDouble(given === true ? { embeddingDims: 64 } : given);
  const double = owned ?? (given as OpenAiTestDouble | undefined);
  const open: TestApp[] = [];

  /** testEnv(db, modelEnv (with a double) + `env`): a new DATA_DIR each call. */
  const envWith = (env: Env = {}): Env =>
    testEnv(db, { ...(double ? modelEnv(double.baseURL) : {}), ...env });

  /** Starts an app that closes itself after the suite unless it was closed before. */
  async function track(env: Env, startOptions: Parameters<typeof startApp>[1] = {}) {
    const started = await startApp(env, startOptions);
    const t: TestApp = {
      ...started,
      close: async () => {
        const at = open.indexOf(t);
        if (at >= 0) open.splice(at, 1);
        await started.close();
      },
    };
    open.push(t);
    return t;
  }

  beforeAll(async () => {
    if (owned) await owned.start();
    await first?.();
  });
  if (owned) afterEach(() => owned.reset());
  afterAll(async () => {
    const errors: unknown[] = [];
    const attempt = (work: () => Promise<unknown>) => work().catch((e: unknown) => errors.push(e));
    if (beforeClose) await attempt(beforeClose);
    for (const t of [...open].reverse()) await attempt(() => t.close());
    if (owned) await attempt(() => owned.stop());
    if (errors.length > 0) throw errors[0];
  });

  return { double, envWith, track };
}

/**
 * Apps that each test starts for itself (different environments, one per case), on `db`, with
 * the double if asked; whatever is still open is closed after the suite.
 */
export function useApps(db: TestDatabase, options: UseAppsOptions = {}): AppStarter {
  const hooks = appHooks(db, options);
  return {
    get double() {
      return hooks.double ?? noDouble();
    },
    start: (overrides, startOptions) =>
      hooks.track(hooks.envWith({ ...options.env, ...overrides }), startOptions),
  };
}

/**
 * The app a suite runs against, started before its first test on a fresh database and closed
 * after its last, with an OpenAI test double (started, reset after each test, stopped) when
 * `double` is given. Use the result as the suite's TestApp: `t.http()`, `registerUser(t)`,
 * `t.app.get(...)`; and `t.double`, `t.admin`, `t.env`, `t.restart()`, `t.startAnother()`,
 * `t.spawnWorker()`. Its members are read lazily, so they may be named at describe time and used
 * inside tests and hooks declared after it (those run after the app started).
 */
export function useApp(db: TestDatabase, options: UseAppOptions = {}): AppFixture {
  const adminAccount = options.admin === true ? DEFAULT_ADMIN : options.admin;
  const adminEnv: Env = adminAccount
    ? {
        ADMIN_USERNAME: adminAccount.username,
        ADMIN_EMAIL: adminAccount.email,
        ADMIN_PASSWORD: adminAccount.password,
      }
    : {};
  let main: TestApp | undefined;
  let env: Env | undefined;
  let signedIn: { id: string; token: string } | undefined;
  const loggedIn = () => {
    if (!signedIn) throw new Error('No admin signed in: pass `admin` to useApp, use it in a test');
    return signedIn;
  };
  // Its id and token are read when used, so `const admin = t.admin` works at describe time.
  const admin: TestUser | undefined = adminAccount && {
    ...adminAccount,
    get id() {
      return loggedIn().id;
    },
    get token() {
      return loggedIn().token;
    },
  };
  const workers: RunningProcess[] = [];

  async function startMain() {
    env = hooks.envWith({ ...options.env, ...adminEnv });
    main = await hooks.track(env, { logDestination: options.logDestination });
    if (adminAccount) {
      const token = await login(main, adminAccount.username, adminAccount.password);
      const me = await main.http().get('/api/v1/auth/me').set(bearer(token)).expect(200);
      signedIn = { id: me.body.id as string, token };
    }
  }
  // Before the apps close: a worker process holds connections to their database.
  afterAll(() => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });
  const { beforeClose } = options;
  const hooks = appHooks(
    db,
    options,
    startMain,
    beforeClose && (() => (main ? beforeClose(main) : Promise.resolve())),
  );

  const current = (): TestApp => {
    if (!main) throw new Error('The app is not started: use it in a test or a later hook');
    return main;
  };

  return {
    get app() {
      return current().app;
    },
    get config() {
      return current().config;
    },
    http: () => current().http(),
    close: () => current().close(),
    get double() {
      return hooks.double ?? noDouble();
    },
    get env() {
      current();
      return env!;
    },
    get admin() {
      if (!admin) throw new Error('No admin: pass `admin` to useApp');
      return admin;
    },
    startAnother: (overrides, startOptions) =>
      hooks.track(hooks.envWith(overrides), { fresh: false, ...startOptions }),
    async restart() {
      await current().close();
      main = await hooks.track(env!, { fresh: false, logDestination: options.logDestination });
    },
    spawnWorker(overrides = {}) {
      const worker = runEntry('apps/worker/src/main.ts', { ...env!, ...overrides });
      workers.push(worker);
      return worker;
    },
  };
}

type FakeableAPI = NonNullable<
  Extract<Parameters<typeof jest.useFakeTimers>[0], { doNotFake?: unknown }>['doNotFake']
>[number];

/** Every API jest can fake except Date: what `fakeDate` leaves real. */
const ALL_BUT_DATE: Exclude<FakeableAPI, 'Date'>[] = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
];

/**
 * Fakes Date alone, standing at `now` until moved (`jest.setSystemTime`); timers, I/O and
 * performance.now() stay real, so the app, its database and `eventually` work as before. Undo
 * with `jest.useRealTimers()`.
 */
export function fakeDate(now = Date.now()): void {
  jest.useFakeTimers({ doNotFake: ALL_BUT_DATE, now });
}

/**
 * For the rest of the suite (or describe block) the app's wall clock stands still and moves only
 * when a test says: for code that stamps rows, leases and expiries with `new Date()`, so that a
 * test moves the clock instead of sleeping until it has moved.
 */
export function useFakeDate(): { advance(ms: number): void } {
  beforeAll(() => fakeDate());
  afterAll(() => jest.useRealTimers());
  return { advance: (ms) => jest.setSystemTime(Date.now() + ms) };
}
