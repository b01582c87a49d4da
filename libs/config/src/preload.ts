import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Side-effect module imported first by every entry point: loads `.env` (without overriding the
 * real environment) and switches mem0's telemetry off unless MEM0_TELEMETRY=true was given
 * explicitly. mem0ai reads these variables when it is first imported, so this must run before.
 */
export function prepareProcessEnv(env: NodeJS.ProcessEnv = process.env): void {
  const dotenv = resolve('.env');
  if (env.NODE_ENV !== 'test' && existsSync(dotenv)) process.loadEnvFile(dotenv);
  // mem0 sends telemetry for any value but "false": only an explicit true keeps it on.
  const telemetry = env.MEM0_TELEMETRY?.trim().toLowerCase();
  env.MEM0_TELEMETRY = telemetry === 'true' || telemetry === '1' ? 'true' : 'false';
  if (env.MEM0_DIR === undefined || env.MEM0_DIR.trim() === '') {
    env.MEM0_DIR = resolve(env.DATA_DIR?.trim() || './data', 'mem0');
  }
}

prepareProcessEnv();
