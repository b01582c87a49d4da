import autocannon, { AutocannonRequest, Client } from 'autocannon';
import { performance } from 'node:perf_hooks';

import { phase } from './phases';

export interface Sample {
  token: string;
  /** Request written to response complete, as autocannon measures it. */
  ms: number;
  status: number;
  /** Streaming: request written to the first chunk holding an `event: delta`. */
  firstDeltaMs?: number;
  /** The response body, when `keepBodies` is set. */
  body?: string;
}

export interface LoadOptions {
  /** Names the phase for `bench/profile.ts --phase=`. */
  label: string;
  baseUrl: string;
  connections: number;
  /** Seconds of load, or else `amount` requests in all. */
  durationS?: number;
  amount?: number;
  /**
   * Warm-up (JIT, connections): requests sent in the first `warmupMs` give no latency sample, and
   * only completions after it count for the rate.
   */
  warmupMs?: number;
  timeoutS?: number;
  /** The request of connection `conn` (0-based), given a fresh unique token. */
  request: (conn: number, token: string) => AutocannonRequest;
  token: () => string;
  sse?: boolean;
  keepBodies?: boolean;
  /** The server's CPU time so far (ms): gives `cpuMsPerRequest`. */
  serverCpuMs?: () => number;
}

export interface LoadResult {
  samples: Sample[];
  /** 2xx responses per second over the measured window (after the warm-up). */
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  windowS: number;
  /** Server CPU time after the warm-up divided by the responses it gave (NaN if not asked). */
  cpuMsPerRequest: number;
  /** CPU the benchmark process (load client and stub) used, in % of one core. */
  benchCpuPercent: number;
}

/**
 * Drives the server with autocannon (no pipelining: one request at a time per connection, like a
 * user), recording every response with its token, so that the stub's timings can be matched.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const warmupMs = options.warmupMs ?? 0;
  const samples: Sample[] = [];
  const statuses: Record<string, number> = {};
  let connections = 0;
  let completed = 0;
  const started = performance.now();
  // CPU is counted from the end of the warm-up, with the responses given from then on.
  let cpuFrom = options.serverCpuMs?.() ?? NaN;
  let answeredBefore = 0;
  let ownFrom = process.cpuUsage();
  let ownFromAt = started;
  const warm = setTimeout(() => {
    cpuFrom = options.serverCpuMs?.() ?? NaN;
    answeredBefore = Object.values(statuses).reduce((sum, n) => sum + n, 0);
    ownFrom = process.cpuUsage();
    ownFromAt = performance.now();
  }, warmupMs);
  const measuredFrom = started + warmupMs;

  const setupClient = (client: Client) => {
    const conn = connections++;
    let token = '';
    let sentAt = 0;
    let firstDeltaAt = 0;
    let body: string | undefined;
    client.on('request', () => {
      sentAt = performance.now();
      firstDeltaAt = 0;
    });
    if (options.sse) {
      client.on('body', (chunk: Buffer) => {
        if (firstDeltaAt === 0 && chunk.includes('event: delta')) firstDeltaAt = performance.now();
      });
    }
    client.on('response', (status: number, _bytes: number, ms: number) => {
      const now = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (now < measuredFrom) return;
      if (status >= 200 && status < 300) completed++;
      // Latency samples only of requests sent after the warm-up: the first wave meets cold code.
      if (now - ms < measuredFrom) return;
      const sample: Sample = { token, ms, status };
      if (options.sse && firstDeltaAt > 0) sample.firstDeltaMs = firstDeltaAt - sentAt;
      if (options.keepBodies) sample.body = body;
      samples.push(sample);
    });
    client.setRequests([
      {
        setupRequest: () => {
          token = options.token();
          return options.request(conn, token);
        },
        onResponse: (_status, responseBody) => {
          body = options.keepBodies ? responseBody : undefined;
        },
      },
    ]);
  };

  const instance = autocannon({
    url: options.baseUrl,
    connections: options.connections,
    ...(options.amount === undefined
      ? { duration: options.durationS }
      : { amount: options.amount }),
    timeout: options.timeoutS ?? 30,
    setupClient,
  });
  const result = await phase(options.label, async () => instance);
  clearTimeout(warm);
  const cpuAfter = options.serverCpuMs?.() ?? NaN;
  const own = process.cpuUsage(ownFrom);
  const wallMs = performance.now() - ownFromAt;
  const answered = Object.values(statuses).reduce((sum, n) => sum + n, 0) - answeredBefore;
  const windowS = Math.max(0.001, (performance.now() - measuredFrom) / 1000);
  return {
    samples,
    perSecond: completed / windowS,
    statuses,
    errors: result.errors + result.timeouts,
    windowS,
    cpuMsPerRequest: (cpuAfter - cpuFrom) / Math.max(1, answered),
    benchCpuPercent: (own.user + own.system) / 10 / wallMs,
  };
}

export function jsonRequest(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): AutocannonRequest {
  return {
    method,
    path,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extraHeaders,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}
