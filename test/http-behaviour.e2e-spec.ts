import { TEST_DATABASES } from './support/databases';
import { bearer, registerUser } from './support/test-app';
import { useApp } from './support/use-app';

const REGISTER = '/api/v1/auth/register';

describe.each(TEST_DATABASES)('HTTP behaviour on $name', (db) => {
  const t = useApp(db);

  it('answers malformed JSON with 400 and no internals', async () => {
    const res = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'application/json')
      .send('{"username": "x",')
      .expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'MALFORMED_JSON',
    });
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
      code: 'BODY_TOO_LARGE',
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

  it('answers a number as the body with 400, like the other non-object bodies', async () => {
    const res = await t.http().post(REGISTER).set('Content-Type', 'application/json').send('42');
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Malformed JSON in request body',
      code: 'MALFORMED_JSON',
    });
  });

  it('refuses null as the body of a route whose fields are all optional', async () => {
    const user = await registerUser(t, 'nullbody');
    const res = await t
      .http()
      .post(`/api/v1/chat/${user.id}/sessions`)
      .set(bearer(user.token))
      .set('Content-Type', 'application/json')
      .send('null');
    expect(res.status).toBe(400);
  });

  it('reads an empty JSON body as {}', async () => {
    const user = await registerUser(t, 'emptybody');
    await t
      .http()
      .post('/api/v1/auth/logout')
      .set(bearer(user.token))
      .set('Content-Type', 'application/json')
      .send('')
      .expect(204);
    const res = await t.http().post(REGISTER).set('Content-Type', 'application/json').send('');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('password must be 8-128 characters');
  });

  it.each([
    ['__proto__', '{"username": "x", "__proto__": {"role": "admin"}}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"role": "admin"}}}'],
  ])('refuses a %s key with a clear 400', async (_name, body) => {
    const res = await t.http().post(REGISTER).set('Content-Type', 'application/json').send(body);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'The request body must not use __proto__, or constructor with a prototype, as a key',
      code: 'VALIDATION_FAILED',
    });
  });

  it('says which content type it wants, and which charset and encoding', async () => {
    const typed = await t.http().post(REGISTER).set('Content-Type', 'text/plain').send('hello');
    expect(typed.body).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'Unsupported content type; send JSON (application/json)',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    const latin1 = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{}');
    expect(latin1.status).toBe(415);
    const gzipped = await t
      .http()
      .post(REGISTER)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{}');
    expect(gzipped.status).toBe(415);
    // No body at all is not a content-type question, whatever the header says.
    const user = await registerUser(t, 'nobody');
    await t
      .http()
      .post('/api/v1/auth/logout')
      .set(bearer(user.token))
      .set('Content-Type', 'text/plain')
      .expect(204);
  });

  it('ignores a trailing slash and the case of the path, as Express did', async () => {
    const user = await registerUser(t, 'paths');
    await t.http().get('/api/v1/auth/me/').set(bearer(user.token)).expect(200);
    await t.http().get('/API/V1/Auth/Me').set(bearer(user.token)).expect(200);
    const sessions = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions/`)
      .set(bearer(user.token))
      .expect(200);
    expect(sessions.body).toMatchObject({ items: [], total: 0 });
  });

  it('answers duplicate query keys with a 400, not a 500', async () => {
    const user = await registerUser(t, 'dupquery');
    const res = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions?limit=1&limit=2`)
      .set(bearer(user.token));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'VALIDATION_FAILED',
    });
  });

  it('answers a path parameter of any length through validation', async () => {
    const user = await registerUser(t, 'longparam');
    const res = await t
      .http()
      .get(`/api/v1/chat/${user.id}/sessions/${'x'.repeat(500)}`)
      .set(bearer(user.token));
    expect([400, 404]).toContain(res.status);
  });

  it('answers a URL it cannot decode with 400 in Nest shape, with the usual headers', async () => {
    const res = await t.http().get('/api/v1/chat/%E0%A4%A/sessions').expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Malformed URL',
      code: 'MALFORMED_REQUEST',
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets helmet headers and X-Request-Id on errors and 404s too', async () => {
    const answers = [
      await t.http().get('/api/v1/nope').expect(404),
      await t.http().get('/api/v1/auth/me').expect(401),
      await t.http().post(REGISTER).set('Content-Type', 'application/json').send('{').expect(400),
      await t
        .http()
        .post(REGISTER)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ password: 'x'.repeat(2 * 1024 * 1024) }))
        .expect(413),
    ];
    for (const res of answers) {
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    }
  });
});
