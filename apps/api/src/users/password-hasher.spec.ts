import { loadConfig } from '@app/config';
import { Piscina } from 'piscina';

import { PasswordHasher } from './password-hasher';

// bcryptjs must never run on this thread: only the pool's worker threads may load the real one.
jest.mock('bcryptjs', () => {
  const refuse = () => {
    throw new Error('bcryptjs ran on the main thread');
  };
  return { hash: refuse, hashSync: refuse, compare: refuse, compareSync: refuse };
});

/** Written by @node-rs/bcrypt 1.10.8 (the native library the server used before), cost 10. */
const NATIVE_2B = {
  password: 'Tr0ub4dor&3 native',
  encoded: '$2b$10$rEabO8BnTALXhpWmVdKiheFBDB3yA.qgzrOXKPv4FJoD.zGUoGwCm',
};
/** The same library, a password outside ASCII (bcrypt hashes its UTF-8 bytes). */
const NATIVE_UTF8 = {
  password: 'Pässwörd, 密码 🔑',
  encoded: '$2b$10$IjtL3QJla5xdydpyhiQZBuTRdu1.oVS9Vvf8dvhaOTu6h//IMbI.e',
};
/** A `$2a$` hash, written by glibc's crypt(3) (libxcrypt), cost 10. */
const CRYPT_2A = {
  password: 'Tr0ub4dor&3 libxcrypt',
  encoded: '$2a$10$abcdefghijklmnopqrstuuMHusOK5w.1y4tdIbRf1YAbCP5o1hIDu',
};
/** Written by bcryptjs, which the server used before the native library. */
const BCRYPTJS_2B = {
  password: 'correct horse battery',
  encoded: '$2b$10$jc/5lEE9m/1w/0SFi4yeMeD/wV3zluSHibkSS3uvqfsVpqB909F.q',
};

describe('PasswordHasher', () => {
  let hasher: PasswordHasher;
  let runs: jest.SpyInstance;

  beforeAll(() => {
    runs = jest.spyOn(Piscina.prototype, 'run');
    hasher = new PasswordHasher(loadConfig({ JWT_SECRET: 'k'.repeat(32), BCRYPT_COST: '10' }));
  });
  afterAll(async () => {
    await hasher.onApplicationShutdown();
    runs.mockRestore();
  });

  it('hashes with bcrypt at the configured cost and verifies only the right password', async () => {
    const encoded = await hasher.hash('correct horse battery');
    expect(encoded).toMatch(/^\$2b\$10\$.{53}$/);
    expect(await hasher.verify('correct horse battery', encoded)).toBe(true);
    expect(await hasher.verify('correct horse batterY', encoded)).toBe(false);
  });

  it.each([
    ['$2b$ from the native library', NATIVE_2B],
    ['$2b$ from the native library, UTF-8', NATIVE_UTF8],
    ['$2a$ from crypt(3)', CRYPT_2A],
    ['$2b$ from bcryptjs', BCRYPTJS_2B],
  ])('reads hashes written before: %s', async (_name, { password, encoded }) => {
    expect(await hasher.verify(password, encoded)).toBe(true);
    expect(await hasher.verify(`${password}!`, encoded)).toBe(false);
    expect(await hasher.verify(password.slice(1), encoded)).toBe(false);
  });

  it('hashes and verifies on worker threads of one pool, never on this thread', async () => {
    runs.mockClear();
    const encoded = await hasher.hash('a');
    await Promise.all([hasher.hash('b'), hasher.verify('a', encoded), hasher.verify('b', encoded)]);
    expect(runs).toHaveBeenCalledTimes(4);
    const pools = new Set(runs.mock.contexts as Piscina[]);
    expect(pools.size).toBe(1);
    const [pool] = pools;
    expect(pool.completed).toBeGreaterThanOrEqual(4);
    expect(pool.threads.length).toBeGreaterThanOrEqual(1);
    for (const thread of pool.threads) expect(thread.threadId).toBeGreaterThan(0);
  });

  it('answers false for the dummy comparison, even with the dummy password', async () => {
    expect(await hasher.verifyAgainstDummy('anything')).toBe(false);
    expect(await hasher.verifyAgainstDummy('dummy-password-for-timing-only')).toBe(false);
  });

  it('stops its threads on shutdown and refuses work afterwards', async () => {
    const other = new PasswordHasher(loadConfig({ JWT_SECRET: 'k'.repeat(32), BCRYPT_COST: '10' }));
    runs.mockClear();
    await other.hash('x');
    const pool = runs.mock.contexts[0] as Piscina;
    expect(pool.threads.length).toBeGreaterThan(0);
    await other.onApplicationShutdown();
    expect(pool.threads).toHaveLength(0);
    await expect(other.hash('x')).rejects.toThrow('PasswordHasher is shut down');
  });
});
