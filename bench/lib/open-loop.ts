import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import { phase } from './phases';

export interface OpenLoopRequest {
  kind: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface OpenLoopSample {
  kind: string;
  /** Scheduled send time to the end of the response: waiting for a free socket counts. */
  ms: number;
  status: number;
}

export interface OpenLoopResult {
  samples: OpenLoopSample[];
  sent: number;
}

/**
 * An open loop: requests start at a fixed rate whatever the server's answers do (as independent
 * users arrive), so latency includes the queueing a slow server builds up, unlike autocannon's
 * closed loop where a slow answer also slows the arrivals. `next(i)` gives the i-th request.
 */
export async function runOpenLoop(options: {
  label: string;
  baseUrl: string;
  ratePerSecond: number;
  durationS: number;
  next: (i: number) => OpenLoopRequest;
  /** Called every `tickMs` while requests are outstanding (e.g. to sample a queue). */
  onTick?: (elapsedMs: number) => void | Promise<void>;
  tickMs?: number;
}): Promise<OpenLoopResult> {
  const url = new URL(options.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const samples: OpenLoopSample[] = [];
  const pending = new Set<Promise<void>>();
  const total = Math.round(options.ratePerSecond * options.durationS);
  const interval = 1000 / options.ratePerSecond;
  const started = performance.now();
  const ticker = options.onTick
    ? setInterval(() => void options.onTick?.(performance.now() - started), options.tickMs ?? 500)
    : undefined;

  const fire = (req: OpenLoopRequest, scheduledAt: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (status: number) => {
        samples.push({ kind: req.kind, ms: performance.now() - scheduledAt, status });
        resolve();
      };
      const r = request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.path,
          agent,
          headers: {
            ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...req.headers,
          },
          timeout: 60_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
          res.on('error', () => done(0));
        },
      );
      r.on('error', () => done(0));
      r.on('timeout', () => r.destroy());
      r.end(req.body);
    });

  await phase(options.label, async () => {
    for (let i = 0; i < total; i++) {
      const due = started + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = fire(options.next(i), due);
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await Promise.all([...pending]);
  });
  if (ticker) clearInterval(ticker);
  agent.destroy();
  return { samples, sent: total };
}
