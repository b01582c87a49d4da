import { resolve } from 'node:path';

import { prepareProcessEnv } from './preload';

describe('prepareProcessEnv', () => {
  it('switches mem0 telemetry off and keeps its files under DATA_DIR unless told otherwise', () => {
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIR: '/srv/data' };
    prepareProcessEnv(env);
    expect(env.MEM0_TELEMETRY).toBe('false');
    expect(env.MEM0_DIR).toBe(resolve('/srv/data', 'mem0'));
  });

  it.each(['0', 'no', 'off', 'False', 'maybe'])('turns MEM0_TELEMETRY=%s into "false"', (value) => {
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', MEM0_TELEMETRY: value };
    prepareProcessEnv(env);
    expect(env.MEM0_TELEMETRY).toBe('false');
  });

  it('respects an explicit choice', () => {
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', MEM0_TELEMETRY: 'true', MEM0_DIR: '/x' };
    prepareProcessEnv(env);
    expect(env).toMatchObject({ MEM0_TELEMETRY: 'true', MEM0_DIR: '/x' });
  });
});
