import { loadConfig } from '@app/config';

import { PasswordHasher } from './password-hasher';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher(loadConfig({ JWT_SECRET: 'k'.repeat(32), BCRYPT_COST: '10' }));

  it('hashes with bcrypt at the configured cost and verifies only the right password', async () => {
    const encoded = await hasher.hash('correct horse battery');
    expect(encoded).toMatch(/^\$2b\$10\$.{53}$/);
    expect(await hasher.verify('correct horse battery', encoded)).toBe(true);
    expect(await hasher.verify('correct horse batterY', encoded)).toBe(false);
  });

  it('reads hashes written by bcryptjs, which earlier versions used', async () => {
    const fromBcryptjs = '$2b$10$jc/5lEE9m/1w/0SFi4yeMeD/wV3zluSHibkSS3uvqfsVpqB909F.q';
    expect(await hasher.verify('correct horse battery', fromBcryptjs)).toBe(true);
    expect(await hasher.verify('wrong', fromBcryptjs)).toBe(false);
  });

  it('keeps the event loop free while it hashes', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all([hasher.hash('a'), hasher.hash('b'), hasher.hash('c')]);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('answers false for the dummy comparison', async () => {
    expect(await hasher.verifyAgainstDummy('anything')).toBe(false);
  });
});
