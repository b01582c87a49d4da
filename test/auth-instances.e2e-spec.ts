import { bearer, registerUser, startApp, testEnv, TestApp, TestUser } from './support/test-app';

const ME = '/api/v1/auth/me';

/**
 * Passport's strategy registry is process-wide. Two apps in one process (same JWT secret, each its
 * own SQLite database) must each check tokens against their own database, and closing one must
 * not disturb the other.
 */
describe('two app instances in one process', () => {
  let first: TestApp;
  let second: TestApp | undefined;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    first = await startApp(testEnv({ name: 'sqlite' }));
    second = await startApp(testEnv({ name: 'sqlite' }));
    alice = await registerUser(first, 'alice');
    bob = await registerUser(second, 'bob');
  });
  afterAll(async () => {
    await second?.close();
    await first.close();
  });

  it('each authenticates its own users against its own database', async () => {
    const me = await first.http().get(ME).set(bearer(alice.token)).expect(200);
    expect(me.body).toMatchObject({ id: alice.id, username: alice.username });
    await second!.http().get(ME).set(bearer(bob.token)).expect(200);
  });

  it("refuses the other app's tokens: their user is not in its database", async () => {
    const refused = await second!.http().get(ME).set(bearer(alice.token)).expect(401);
    expect(refused.body).toMatchObject({ code: 'TOKEN_INVALID' });
    await first.http().get(ME).set(bearer(bob.token)).expect(401);
  });

  it('keeps authenticating after the other app has closed', async () => {
    await second!.close();
    second = undefined;
    await first.http().get(ME).set(bearer(alice.token)).expect(200);
    await first.http().get(ME).set(bearer(bob.token)).expect(401);
  });
});
