import { User } from '@app/database';
import { DataSource } from 'typeorm';

import { TEST_DATABASES } from '../support/databases';
import { useApp } from '../support/use-app';

const PASSWORD = 'correct horse battery';
const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';

/**
 * One identity, one spelling: usernames and emails are canonicalised (NFKC, trimmed, lower case)
 * and compared byte for byte on every database, look-alikes of an existing or reserved name are
 * refused, and every spelling of an account shares its failed-login budget. On MariaDB the
 * default collation used to let `álice`, `ÀLICE` and `alıce` log in as `alice`.
 */
describe.each(TEST_DATABASES)('identities on $name', (db) => {
  const t = useApp(db, { env: { THROTTLE_LOGIN_FAILURES: '3', TRUST_PROXY: 'true' } });

  beforeAll(async () => {
    for (const [username, email] of [
      ['root_admin', 'root@example.com'],
      ['alice', 'alice@example.com'],
    ]) {
      await t.http().post(REGISTER).send({ username, email, password: PASSWORD }).expect(201);
    }
  });

  const register = (username: string, email: string) =>
    t.http().post(REGISTER).send({ username, email, password: PASSWORD });
  const login = (username: string, password = PASSWORD, from = '10.9.0.1') =>
    t.http().post(LOGIN).set('X-Forwarded-For', from).send({ username, password });

  it.each([
    ['a Cyrillic а in the local part', 'cyr_user', 'аdmin@example.com', 400],
    ['a zero-width space', 'zw_user', 'admin\u200b@example.com', 400],
    ['a Cyrillic а in the domain', 'dom_user', 'admin@exаmple.com', 400],
    ['a quoted local part', 'quote_user', '"admin"@example.com', 400],
    ['a full-width copy of a taken email', 'fw_user', 'ｒｏｏｔ@example.com', 409],
    ['a taken email in other case and spaces', 'case_user', '  ROOT@Example.com ', 409],
  ])('refuses an email with %s', async (_name, username, email, status) => {
    const res = await register(username, email);
    expect(res.status).toBe(status);
    expect(await t.app.get(DataSource).getRepository(User).countBy({ username })).toBe(0);
  });

  it.each([
    ['a reserved name', 'admin', 409, 'This username is reserved'],
    ['a reserved name in disguise', 'Adm1n', 409, 'This username is reserved'],
    ['a trailing separator', 'root_admin.', 400, 'start and end with a letter or a digit'],
    ['another separator', 'root.admin', 409, 'Username is too similar to an existing one'],
    ['digits for letters', 'r00t_admin', 409, 'Username is too similar to an existing one'],
    ['full-width letters', 'ｒｏｏｔ＿ａｄｍｉｎ', 409, 'Username is already taken'],
  ])('refuses a username with %s', async (_name, username, status, message) => {
    const res = await register(username, `${Date.now()}_${status}@example.org`);
    expect(res.status).toBe(status);
    expect(JSON.stringify(res.body.message)).toContain(message);
  });

  it('stores the canonical form: a full-width registration logs in with plain ASCII', async () => {
    const res = await register('ＦＵＬＬ_ｗｉｄｔｈ', 'ｆｕｌｌ@example.net').expect(201);
    expect(res.body).toMatchObject({ username: 'full_width', email: 'full@example.net' });
    await login('full_width').expect(200);
    await login('FULL@EXAMPLE.NET').expect(200);
  });

  it('lets every spelling of an account in, and no look-alike', async () => {
    for (const spelling of [
      'alice',
      'ALICE',
      ' alice ',
      'alice   ',
      'ＡＬＩＣＥ',
      'Alice@Example.com',
    ]) {
      const res = await login(spelling).expect(200);
      expect(res.body.user.username).toBe('alice');
    }
    const lookAlikes = ['álice', 'ÀLICE', 'alıce', 'alice@éxample.com', 'a\u200blice'];
    for (const [n, lookAlike] of lookAlikes.entries()) {
      await login(lookAlike, PASSWORD, `10.9.2.${n}`).expect(401);
    }
  });

  it('counts failures against the account whatever spelling reached it', async () => {
    await register('budget_user', 'budget@example.com').expect(201);
    const spellings = ['budget_user', 'BUDGET@example.com', ' Budget_User '];
    for (const [n, spelling] of spellings.entries()) {
      await login(spelling, 'wrong password', `10.9.1.${n + 1}`).expect(401);
    }
    for (const n of [1, 2, 3]) await login('budget_user', PASSWORD, `10.9.1.${n}`).expect(429);
    await login('budget@example.com', PASSWORD, '10.9.1.99').expect(200);
  });
});
