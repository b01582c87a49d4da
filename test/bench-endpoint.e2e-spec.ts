import { TEST_DATABASES } from './support/databases';
import { bearer, registerUser } from './support/test-app';
import { useApps } from './support/use-app';

/** The benchmark's baseline endpoint exists only when BENCH_ENDPOINTS=true. */
describe('POST /api/v1/bench/upstream', () => {
  const apps = useApps(TEST_DATABASES[0], { double: true });
  const { double } = apps;
  const start = (extra: Record<string, string>) => apps.start(extra);

  it('is not there by default', async () => {
    const t = await start({});
    const user = await registerUser(t, 'nobench');
    const res = await t
      .http()
      .post('/api/v1/bench/upstream')
      .set(bearer(user.token))
      .send({ message: 'hello' });
    expect(res.status).toBe(404);
  });

  it('with BENCH_ENDPOINTS=true makes one embedding and one chat call, behind the token', async () => {
    const t = await start({ BENCH_ENDPOINTS: 'true' });
    const user = await registerUser(t, 'bench');
    const path = '/api/v1/bench/upstream';
    expect((await t.http().post(path).send({ message: 'hello' })).status).toBe(401);
    const before = double.requests.length;
    const res = await t.http().post(path).set(bearer(user.token)).send({ message: 'hello bench' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ response: 'Echo: hello bench', embedding_dims: 64 });
    const calls = double.requests.slice(before).map((r) => r.kind);
    expect(calls.sort()).toEqual(['chat', 'embeddings']);
  });
});
