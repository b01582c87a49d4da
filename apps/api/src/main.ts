// Must stay the first import: it switches mem0 telemetry off before anything can load mem0ai.
import '@app/config/preload';

import { loadConfig } from '@app/config';

import { createApp } from './create-app';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
