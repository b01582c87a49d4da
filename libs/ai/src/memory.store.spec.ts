import { loadConfig } from '@app/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Mem0Client } from './mem0.client';
import { learnedOn, MemoryStore } from './memory.store';

describe('MemoryStore', () => {
  const config = loadConfig({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'memory-store-spec-')),
    JWT_SECRET: 'k'.repeat(32),
    OPENAI_API_KEY: 'unused',
    // Nothing listens here: a test that reached the model would fail loudly.
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  });
  const store = new MemoryStore(new Mem0Client(config));
  const alice = '6f1c2d3e-4b5a-4c6d-8e7f-000000000001';

  it.each(['*', '', 'alice', '%', 'user_*'])(
    'refuses user id %p before touching mem0 ("*" means every user there)',
    async (userId) => {
      await expect(store.search(userId, 'anything', 5)).rejects.toThrow('verified user id');
      await expect(store.list(userId)).rejects.toThrow('verified user id');
      await expect(store.deleteAll(userId)).rejects.toThrow('verified user id');
      await expect(store.get(userId, alice)).rejects.toThrow('verified user id');
    },
  );

  it.each(['*', 'not-a-uuid', "1' OR '1'='1"])('treats memory id %p as not found', async (id) => {
    await expect(store.get(alice, id)).resolves.toBeNull();
    await expect(store.delete(alice, id)).rejects.toMatchObject({ message: 'Memory not found' });
    const entry = { action: 'DELETE', previousValue: 'a', newValue: 'b' };
    await expect(store.recordHistory(alice, id, entry)).rejects.toMatchObject({
      message: 'Memory not found',
    });
  });

  it('dates a memory by its last change, else its creation, as a UTC day', () => {
    expect(learnedOn({ createdAt: '2026-01-02T23:30:00.000-02:00' })).toBe('2026-01-03');
    expect(
      learnedOn({ createdAt: '2025-06-01T08:00:00.000Z', updatedAt: '2026-03-01T09:30:00.000Z' }),
    ).toBe('2026-03-01');
    expect(learnedOn({})).toBe('');
    expect(learnedOn({ createdAt: 'yesterday' })).toBe('');
  });

  it('answers 503 when no model endpoint is configured', async () => {
    const bare = new MemoryStore(
      new Mem0Client(
        loadConfig({
          DATA_DIR: mkdtempSync(join(tmpdir(), 'memory-store-spec-')),
          JWT_SECRET: 'k'.repeat(32),
        }),
      ),
    );
    expect(bare.configured).toBe(false);
    expect(bare.extracts).toBe(false);
    await expect(bare.list(alice)).rejects.toMatchObject({ code: 'MODEL_NOT_CONFIGURED' });
  });

  it('is usable with the local embedder and no endpoint, but does not extract', () => {
    const local = new MemoryStore(
      new Mem0Client(
        loadConfig({
          DATA_DIR: mkdtempSync(join(tmpdir(), 'memory-store-spec-')),
          JWT_SECRET: 'k'.repeat(32),
          EMBEDDING_PROVIDER: 'local',
        }),
      ),
    );
    expect(local.configured).toBe(true);
    expect(local.extracts).toBe(false);
    expect(store.configured).toBe(true);
    expect(store.extracts).toBe(true);
  });
});
