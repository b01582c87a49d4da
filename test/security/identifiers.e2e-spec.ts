import { MemoryJob } from '@app/database';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { memoryJobRow } from '../support/builders';
import { TEST_DATABASES } from '../support/databases';
import { bearer, call, HttpMethod, login, memoryJobsDone, registerUser } from '../support/test-app';
import { useApp } from '../support/use-app';

const ME = '/api/v1/auth/me';
const USERS = '/api/v1/admin/users';
const upper = (id: string) => id.toUpperCase();

/** A body that passes validation for each route with a {user_id} that takes one. */
const VALID_BODIES: Record<string, object> = {
  'post /api/v1/chat/{user_id}': { message: 'hello' },
  'post /api/v1/chat/{user_id}/sessions': { title: 'x' },
  'patch /api/v1/chat/{user_id}/sessions/{session_id}': { title: 'x' },
  'patch /api/v1/admin/users/{user_id}': { role: 'admin' },
};

/**
 * UUIDs are compared in one spelling (lower case) everywhere: MariaDB compares ids
 * case-insensitively and the code does not, so an id in upper case must mean exactly what it
 * means in lower case, on every database, and never slip past an owner or self check.
 */
describe.each(TEST_DATABASES)('identifiers on $name', (db) => {
  const t = useApp(db, { double: true, admin: true });
  const admin = t.admin;

  const asAdmin = (method: HttpMethod, url: string) =>
    call(t, method, url).set(bearer(admin.token));

  it("refuses an admin's own id in upper case exactly as in lower case (409), changing nothing", async () => {
    for (const id of [admin.id, upper(admin.id)]) {
      for (const body of [{ disabled: true }, { role: 'user' }]) {
        const res = await asAdmin('patch', `${USERS}/${id}`).send(body);
        expect({ id, body, status: res.status, message: res.body.message }).toEqual({
          id,
          body,
          status: 409,
          message: 'You cannot disable or demote yourself',
        });
      }
      const res = await asAdmin('delete', `${USERS}/${id}`);
      expect({ id, status: res.status, message: res.body.message }).toEqual({
        id,
        status: 409,
        message: 'You cannot delete yourself',
      });
    }
    const me = await t.http().get(ME).set(bearer(admin.token)).expect(200);
    expect(me.body).toMatchObject({ id: admin.id, role: 'admin' });
    const users = await asAdmin('get', `${USERS}?limit=100`).expect(200);
    expect(users.body.items).toContainEqual(
      expect.objectContaining({ id: admin.id, role: 'admin', disabled: false }),
    );
  });

  it('treats every id in upper case like the same id in lower case', async () => {
    const user = await registerUser(t, 'upper');
    const chat = `/api/v1/chat/${upper(user.id)}`;
    const first = await t
      .http()
      .post(chat)
      .set(bearer(user.token))
      .send({ message: 'My name is Upper. I live in Lisbon.' })
      .expect(200);
    const sessionId = first.body.session_id as string;
    // A session_id in the body, in upper case, continues the same session.
    const second = await t
      .http()
      .post(chat)
      .set(bearer(user.token))
      .send({ message: 'Still me.', session_id: upper(sessionId) })
      .expect(200);
    expect(second.body.session_id).toBe(sessionId);

    const session = (userId: string, id: string) =>
      t.http().get(`/api/v1/chat/${userId}/sessions/${id}`).set(bearer(user.token)).expect(200);
    const lower = await session(user.id, sessionId);
    expect(lower.body).toMatchObject({ id: sessionId, message_count: 4 });
    expect((await session(upper(user.id), upper(sessionId))).body).toEqual(lower.body);

    await memoryJobsDone(t, user.id);
    const memories = await t.http().get('/api/v1/memories').set(bearer(user.token)).expect(200);
    const memoryId = memories.body.items[0].id as string;
    const memory = (id: string) =>
      t.http().get(`/api/v1/memories/${id}`).set(bearer(user.token)).expect(200);
    expect((await memory(upper(memoryId))).body).toEqual((await memory(memoryId)).body);

    // A failed job of the user's, so that the admin's job filter and retry have something to find.
    const job = memoryJobRow({
      userId: user.id,
      sessionId,
      messageId: second.body.message_id,
      replyId: second.body.message_id,
      status: 'failed',
    });
    await t.app.get(DataSource).getRepository(MemoryJob).insert(job);
    for (const path of ['/api/v1/admin/sessions', '/api/v1/admin/memory-jobs']) {
      const byLower = await asAdmin('get', `${path}?user_id=${user.id}`).expect(200);
      const byUpper = await asAdmin('get', `${path}?user_id=${upper(user.id)}`).expect(200);
      expect({ path, total: byUpper.body.total }).toEqual({ path, total: 1 });
      expect({ path, body: byUpper.body }).toEqual({ path, body: byLower.body });
    }
    const retried = await asAdmin('post', `/api/v1/admin/memory-jobs/${upper(job.id)}/retry`);
    expect({ status: retried.status, body: retried.body }).toMatchObject({
      status: 200,
      body: { id: job.id, status: 'pending' },
    });
    await memoryJobsDone(t, user.id);

    const disabled = await asAdmin('patch', `${USERS}/${upper(user.id)}`)
      .send({ disabled: true })
      .expect(200);
    expect(disabled.body).toMatchObject({ id: user.id, disabled: true });
    await t.http().get(ME).set(bearer(user.token)).expect(401);
    await asAdmin('patch', `${USERS}/${upper(user.id)}`)
      .send({ disabled: false })
      .expect(200);
    await login(t, user.username, user.password);

    await asAdmin('delete', `${USERS}/${upper(user.id)}`).expect(204);
    const left = await asAdmin('get', `/api/v1/admin/sessions?user_id=${user.id}`).expect(200);
    expect(left.body.total).toBe(0);
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(401);
  });

  it('answers 400 for a malformed {user_id} on every route that takes one', async () => {
    const doc = await t.http().get('/docs-json').expect(200);
    const routes = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.includes('{user_id}'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method, path })));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const bad of ['not-a-uuid', '*', '%2A', `${admin.id}x`, "1'%20OR%20'1'='1"]) {
      for (const { method, path } of routes) {
        const url = path
          .replace('{user_id}', bad)
          .replace('{session_id}', randomUUID())
          .replace('{key_id}', randomUUID());
        const res = await asAdmin(method as HttpMethod, url).send(
          VALID_BODIES[`${method} ${path}`] ?? {},
        );
        const seen = { route: `${method} ${path}`, bad, status: res.status, body: res.body };
        expect(seen).toEqual({
          ...seen,
          status: 400,
          body: {
            statusCode: 400,
            error: 'Bad Request',
            message: 'user_id must be a UUID',
            code: 'VALIDATION_FAILED',
          },
        });
      }
    }
  });

  it("still answers 403 for another user's id, in any case", async () => {
    const other = await registerUser(t, 'other');
    for (const id of [other.id, upper(other.id)]) {
      const res = await asAdmin('get', `/api/v1/chat/${id}/sessions`);
      expect({ id, status: res.status }).toEqual({ id, status: 403 });
    }
  });
});
