import { TEST_DATABASES } from './support/databases';
import { bearer, registerUser, startApp, testEnv, TestApp } from './support/test-app';

const REGISTER = '/api/v1/auth/register';

describe.each(TEST_DATABASES)('HTTP behaviour on $name', (db) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp(testEnv(db));
  });
  afterAll(() => t.close());

  it('answers malformed JSON with 400 and no internals', async () => {
    const res = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'application/json')
      .send('{"username": "x",')
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js|node_modules|stack/i);
  });

  it('answers a 2 MiB body with 413', async () => {
    const res = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'application/json')
      .send(
        JSON.stringify({
          username: 'big',
          email: 'big@example.com',
          password: 'x'.repeat(2 * 1024 * 1024),
        }),
      )
      .expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large',
    });
  });

  it('accepts a body just under 1 MiB as far as validation', async () => {
    const res = await t
      .http()
      .post(REGISTER)
      .send({ username: 'big', email: 'big@example.com', password: 'x'.repeat(1000 * 1000) })
      .expect(400);
    expect(res.body.message).toEqual(['password must be 8-128 characters']);
  });

  it('refuses a non-JSON content type with 400 or 415', async () => {
    const res = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'text/plain')
      .send('username=a&password=b');
    expect([400, 415]).toContain(res.status);
  });

  it.each([
    ['an array', '[1,2,3]'],
    ['a string', '"hello"'],
    ['null', 'null'],
  ])('refuses %s as the body with 400', async (_name, body) => {
    const res = await t.http().post(REGISTER).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
  });

  it('treats SQL-looking input as data and keeps working', async () => {
    const user = await registerUser(t, 'o.brien');
    const res = await t.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(200);
    expect(res.body.username).toBe(user.username);
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: "' OR 1=1 --", password: "'; DROP TABLE users; --" })
      .expect(401);
    await t.http().get('/api/v1/auth/me').set(bearer(user.token)).expect(200);
  });
});
