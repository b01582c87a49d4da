// Must stay the first import: it switches mem0 telemetry off before anything can load mem0ai.
import '@app/config/preload';

import { AppConfig, loadConfig } from '@app/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

import { WorkerModule } from './worker.module';

/**
 * A process that only runs memory-extraction jobs. Run it (as many as you like) with
 * MEMORY_WORKERS_ENABLED=false on the API processes; it ignores that variable itself.
 */
async function main(): Promise<void> {
  const loaded = loadConfig();
  const config = AppConfig.of({
    ...loaded,
    memoryJobs: { ...loaded.memoryJobs, workersEnabled: true },
  });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  app.get(Logger).log('Memory extraction worker started');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
