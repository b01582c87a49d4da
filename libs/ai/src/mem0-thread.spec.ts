import { loadConfig, LOCAL_EMBEDDING_DIMS } from '@app/config';
import { Logger } from '@nestjs/common';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';

import { buildMem0Config } from './mem0-config';
import { Mem0Error } from './mem0-failure';
import { Mem0Thread, Mem0ThreadData } from './mem0-thread';

const dir = mkdtempSync(join(tmpdir(), 'mem0-thread-spec-'));
// Mem0 keeps a telemetry id file in MEM0_DIR, read when an instance starts.
process.env.MEM0_DIR = join(dir, 'home');

beforeAll(() => Logger.overrideLogger(false));

const USER = '00000000-0000-4000-8000-000000000001';
const DELAY_MS = 500;

/** The thread of the embedded default: SQLite stores under a temporary DATA_DIR, the local model. */
function threadData(): Mem0ThreadData {
  const config = loadConfig({
    DATA_DIR: dir,
    JWT_SECRET: 'k'.repeat(32),
    EMBEDDING_PROVIDER: 'local',
  });
  return {
    mem0Config: buildMem0Config(config),
    synchronous: config.database.sqliteSynchronous,
    dimension: LOCAL_EMBEDDING_DIMS,
    search: config.memory.search,
  };
}

describe('Mem0Thread', () => {
  it('ends a thread that could not make its instance, fails calls with its reason for a while, then starts another', async () => {
    const thread = new Mem0Thread(threadData(), DELAY_MS);
    try {
      const waiting = thread.search(USER, 'Where do I live?', 5);
      const worker = (thread as unknown as { worker: Worker }).worker;
      // What the thread says when its instance could not be made (the real start still runs).
      worker.emit('message', {
        ready: false,
        error: { name: 'Error', message: 'Backend not initialized' },
      });
      await expect(waiting).rejects.toThrow(Mem0Error);
      await expect(waiting).rejects.toThrow('Backend not initialized');
      expect(thread.threadId).toBeUndefined();

      // Within the delay: the same reason at once, no thread started.
      await expect(thread.warmedUp()).rejects.toThrow('Backend not initialized');
      await expect(thread.search(USER, 'Where do I live?', 5)).rejects.toThrow(
        'Backend not initialized',
      );
      expect(thread.threadId).toBeUndefined();

      await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
      await thread.warmedUp();
      expect(thread.warm).toBe(true);
      expect(await thread.search(USER, 'Where do I live?', 5)).toEqual([]);
      expect(thread.threadId).toBeDefined();
      expect(thread.threadId).not.toBe(worker.threadId);
    } finally {
      await thread.stop();
    }
  }, 60_000);
});
