import { TEST_DATABASES } from './support/databases';
import { useApp } from './support/use-app';

describe.each(TEST_DATABASES)('system endpoints on $name', (db) => {
  const t = useApp(db);

  it('GET / names the service and its docs', async () => {
    const res = await t.http().get('/').expect(200);
    expect(res.body).toEqual({
      name: 'memory-chatbot-backend',
      version: expect.any(String),
      docs: '/docs',
    });
  });

  it.each(['/health', '/health/ready'])(
    '%s reports the database and memory store',
    async (path) => {
      const res = await t.http().get(path).expect(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.details).toEqual({
        database: { status: 'up' },
        // No model configured: mem0 is not in use, which must not make the pod unready.
        memory_store: { status: 'up', configured: false },
      });
    },
  );

  it('/api/v1/health says that no model is configured', async () => {
    const res = await t.http().get('/api/v1/health').expect(200);
    expect(res.body).toEqual({
      status: 'not_configured',
      model: { configured: false, reachable: false, model: 'gpt-4o-mini' },
      memory_store: { configured: false, up: false },
    });
  });

  it('/health/live answers without touching dependencies', async () => {
    const res = await t.http().get('/health/live').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', details: {} });
  });

  it('serves the OpenAPI document with bearer auth described', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(res.body.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/register',
        '/api/v1/auth/login',
        '/api/v1/admin/users',
      ]),
    );
    expect(res.body.paths['/api/v1/auth/me'].get.security).toEqual([{ bearer: [] }]);
    await t.http().get('/docs').expect(200).expect('content-type', /html/);
  });

  it('gives every response a request id, keeping a sane one from the client', async () => {
    const own = await t.http().get('/').set('X-Request-Id', 'trace-abc.123').expect(200);
    expect(own.headers['x-request-id']).toBe('trace-abc.123');
    const generated = await t
      .http()
      .get('/')
      .set('X-Request-Id', 'bad id\twith spaces')
      .expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a plain 404 in Nest shape', async () => {
    const res = await t.http().get('/api/v1/nope').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'NOT_FOUND' });
  });
});
