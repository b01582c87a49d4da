import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { join } from 'node:path';

/** Where a benchmarked server keeps its tables, and how the benchmark counts its queue. */
export interface BenchDatabase {
  name: 'SQLite' | 'MariaDB';
  /** Extra server environment (DATABASE_URL for MariaDB; nothing for the embedded default). */
  env(dataDir: string): Record<string, string>;
  /** Memory jobs not finished yet (pending + running). */
  backlog(dataDir: string): Promise<number>;
  drop(): Promise<void>;
}

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306';
const UNFINISHED = "SELECT COUNT(*) AS n FROM memory_jobs WHERE status IN ('pending', 'running')";

/** Memory jobs by status in an embedded (SQLite) server's DATA_DIR, read without disturbing it. */
export function sqliteJobCounts(dataDir: string): {
  pending: number;
  running: number;
  failed: number;
} {
  const db = new Database(join(dataDir, 'chatbot.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT status, COUNT(*) AS n FROM memory_jobs GROUP BY status')
      .all() as { status: string; n: number }[];
    const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
    return { pending: count('pending'), running: count('running'), failed: count('failed') };
  } finally {
    db.close();
  }
}

export const sqlite: BenchDatabase = {
  name: 'SQLite',
  env: () => ({}),
  backlog(dataDir) {
    const db = new Database(join(dataDir, 'chatbot.sqlite'), { readonly: true });
    try {
      return Promise.resolve((db.prepare(UNFINISHED).get() as { n: number }).n);
    } finally {
      db.close();
    }
  },
  drop: () => Promise.resolve(),
};

/**
 * A fresh database on the MariaDB server of BENCH_DATABASE_URL (default: root on localhost), or
 * undefined (and why) when the server does not answer.
 */
export async function freshMariaDb(
  label: string,
): Promise<{ db?: BenchDatabase; problem?: string }> {
  const server = new URL(SERVER_URL.replace(/^mariadb:/, 'mysql:'));
  const name = `chatbot_bench_${label}_${process.pid}`;
  const options = {
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  };
  let admin;
  try {
    admin = await createConnection(options);
  } catch (error) {
    return { problem: `MariaDB at ${server.host} does not answer: ${String(error)}` };
  }
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\``);
  server.pathname = `/${name}`;
  const databaseUrl = server.href.replace(/^mysql:/, 'mariadb:');
  const counter = await createConnection({ ...options, database: name });
  return {
    db: {
      name: 'MariaDB',
      env: () => ({ DATABASE_URL: databaseUrl }),
      async backlog() {
        const [rows] = await counter.query(UNFINISHED);
        return Number((rows as { n: number | string }[])[0].n);
      },
      async drop() {
        await counter.end();
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.end();
      },
    },
  };
}
