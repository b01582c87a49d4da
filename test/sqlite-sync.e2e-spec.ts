import { Mem0Client } from '@app/ai/mem0.client';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

import { chatTurn, registerUser } from './support/test-app';
import { useApps } from './support/use-app';

type Pragma = { pragma(source: string, options: { simple: true }): unknown };

/**
 * SQLITE_SYNCHRONOUS reaches every SQLite file the app writes: its own database and Mem0's
 * history and vector files, each in write-ahead-log mode.
 */
describe('SQLite durability setting', () => {
  const apps = useApps({ name: 'sqlite' }, { double: { embeddingDims: 16 } });

  it.each([
    [undefined, 1],
    ['FULL', 2],
  ])('SQLITE_SYNCHRONOUS=%s gives synchronous=%d on every file', async (setting, expected) => {
    const t = await apps.start(setting ? { SQLITE_SYNCHRONOUS: setting } : {});
    const user = await registerUser(t);
    await chatTurn(t, user, 'I live in Oslo.');
    const [app] = await t.app
      .get(DataSource)
      .query<{ synchronous: number }[]>('PRAGMA synchronous');
    expect(app.synchronous).toBe(expected);
    // Mem0's own connections: the setting is per connection, so it is read through them.
    type Mem0 = { db: { db: Pragma }; vectorStore: { db: Pragma } };
    const client: unknown = t.app.get(Mem0Client);
    const mem0 = await (client as { memory: Promise<Mem0> }).memory;
    expect(mem0.db.db.pragma('synchronous', { simple: true })).toBe(expected);
    expect(mem0.vectorStore.db.pragma('synchronous', { simple: true })).toBe(expected);
    for (const file of ['chatbot.sqlite', 'mem0/history.db', 'mem0/vectors.db']) {
      const db = new Database(join(t.config.dataDir, file), { readonly: true });
      try {
        expect([file, db.pragma('journal_mode', { simple: true })]).toEqual([file, 'wal']);
      } finally {
        db.close();
      }
    }
    await t.close();
  });
});
