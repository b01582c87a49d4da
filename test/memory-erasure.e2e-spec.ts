import { Mem0Client } from '@app/ai/mem0.client';
import type { Memory } from 'mem0ai/oss';

import { TEST_DATABASES } from './support/databases';
import { bearer, chatTurn, eventually, registerUser, TestUser } from './support/test-app';
import { useApp } from './support/use-app';

/** Forgetting is real: deleted memories leave no text in mem0's history either. */
describe.each(TEST_DATABASES)('memory erasure on $name', (db) => {
  const t = useApp(db, { double: true });
  let mem0: Memory;

  beforeAll(async () => {
    const client: unknown = t.app.get(Mem0Client);
    mem0 = await (client as { instance(): Promise<Memory> }).instance();
  });

  async function learn(u: TestUser, message: string): Promise<{ id: string; memory: string }[]> {
    await chatTurn(t, u, message);
    return eventually(async () => {
      const res = await t.http().get('/api/v1/memories').set(bearer(u.token)).expect(200);
      return res.body.items.length > 0
        ? (res.body.items as { id: string; memory: string }[])
        : undefined;
    }, 'the memory to be learned');
  }

  it('DELETE /memories/{id} removes the memory and its history', async () => {
    const u = await registerUser(t);
    const [memory] = await learn(u, 'My secret word is zanzibar.');
    await t
      .http()
      .put(`/api/v1/memories/${memory.id}`)
      .set(bearer(u.token))
      .send({ memory: 'My secret word is kilimanjaro.' })
      .expect(200);
    expect((await mem0.history(memory.id)).length).toBeGreaterThan(0);
    await t.http().delete(`/api/v1/memories/${memory.id}`).set(bearer(u.token)).expect(204);
    expect(await mem0.get(memory.id)).toBeNull();
    expect(await mem0.history(memory.id)).toEqual([]);
  });

  it('DELETE /memories forgets every memory, its history and the raw messages mem0 kept', async () => {
    const u = await registerUser(t);
    const other = await registerUser(t);
    const memories = await learn(u, 'My passport number is X123.');
    const kept = await learn(other, 'My cat is called Tom.');
    await t.http().delete('/api/v1/memories').set(bearer(u.token)).expect(204);
    for (const m of memories) expect(await mem0.history(m.id)).toEqual([]);
    const everyone = await mem0.search('passport number', { filters: { user_id: '*' }, topK: 50 });
    expect(JSON.stringify(everyone)).not.toContain('X123');
    // The other user keeps everything.
    const theirs = await t.http().get('/api/v1/memories').set(bearer(other.token)).expect(200);
    expect(theirs.body.items.map((m: { id: string }) => m.id)).toEqual(kept.map((m) => m.id));
  });
});
