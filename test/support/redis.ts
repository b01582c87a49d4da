import type { Env } from '@app/config';
import { randomUUID } from 'node:crypto';
import { createServer, Server, Socket } from 'node:net';

/**
 * The Redis the suites that need one use: TEST_REDIS_URL (CI exports it), else the local server's
 * database 1. Shared with other people's runs: every app gets a key prefix of its own, nothing is
 * ever flushed, and the keys expire with their windows.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';

/** Variables that put an app's limits in the test Redis under a prefix no other run uses. */
export function sharedLimitsEnv(url = TEST_REDIS_URL, keyPrefix = newKeyPrefix()): Env {
  return { REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix };
}

export function newKeyPrefix(): string {
  return `test:${randomUUID()}:`;
}

/** A redis:// URL to a local port that nothing listens on (connections are refused at once). */
export async function deadRedisUrl(): Promise<string> {
  const server = createServer();
  await listen(server, 0);
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return withHost(TEST_REDIS_URL, port);
}

/**
 * A TCP proxy in front of the test Redis that a test can cut (connections refused, open ones
 * reset, as when Redis dies), restore on the same port, or freeze (connections stay open but
 * nothing moves, as when Redis or the network hangs).
 */
export class RedisProxy {
  private server?: Server;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private frozen = false;

  constructor(private readonly target = new URL(TEST_REDIS_URL)) {}

  /** The URL an app uses to reach Redis through the proxy (same database and password). */
  get url(): string {
    return withHost(this.target.href, this.port);
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.relay(client));
    await listen(this.server, this.port);
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Redis goes away: the port refuses connections and every open one is reset. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Redis is back on the same address. */
  restore(): Promise<void> {
    return this.start();
  }

  /** Nothing reaches Redis or comes back (TCP holds it), until `thaw`. */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  stop(): Promise<void> {
    return this.cut();
  }

  private relay(client: Socket): void {
    const upstream = new Socket();
    upstream.connect(Number(this.target.port || 6379), this.target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      if (this.frozen) socket.pause();
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function withHost(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.href;
}
