// Operator commands: `npm run cli -- <command> [options]`. Must stay the first import (telemetry).
import '@app/config/preload';

import { buildMem0Config, reEmbed } from '@app/ai';
import { adminAccountProblems, AppConfig, AppConfigModule, loadConfig } from '@app/config';
import { DatabaseModule, dataSourceOptions, migrateSchema } from '@app/database';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';

import { UsersModule } from './users/users.module';
import { UsersService } from './users/users.service';

export const CLI_USAGE = `Usage:
  npm run cli -- create-admin --username NAME --email EMAIL --password PASSWORD
      Creates that admin, or promotes the existing user with that username and email
      and resets their password.
  npm run cli -- migrate
      Applies the pending migrations, once however many run at the same time (a database lock
      on MySQL/MariaDB), and exits: the step a deployment runs before starting its replicas
      with DB_MIGRATIONS_RUN=false.
  npm run cli -- re-embed [--batch-size N]
      Re-embeds every memory and entity with the configured embedder (EMBEDDING_PROVIDER,
      EMBEDDING_MODEL, EMBEDDING_DIMS; stop the API and workers first; see docs/operations.md).`;

/** Runs one CLI command against the configured database; returns the text to print. */
export async function runCli(argv: string[], config: AppConfig): Promise<string> {
  const [command, ...rest] = argv;
  if (command === 'create-admin') return createAdmin(rest, config);
  if (command === 'migrate' && rest.length === 0) return migrate(config);
  if (command === 're-embed') return reEmbedAll(rest, config);
  throw new CliUsageError(`Unknown command "${command ?? ''}"`);
}

async function createAdmin(rest: string[], config: AppConfig): Promise<string> {
  const { values } = parseArgs({
    args: rest,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
    },
    strict: true,
  });
  const { username, email, password } = values;
  if (!username || !email || !password) {
    throw new CliUsageError('create-admin needs --username, --email and --password');
  }
  const problems = adminAccountProblems({ username, email, password });
  if (problems.length > 0)
    throw new CliUsageError(
      problems.map((p) => p.replace(/^[A-Z]+/, (flag) => `--${flag.toLowerCase()}`)).join('\n'),
    );

  @Module({ imports: [AppConfigModule.forRoot(config), DatabaseModule, UsersModule] })
  class CliModule {}

  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error'] });
  try {
    // The operator names the account on the command line: promoting it is what was asked.
    const { user, changes } = await app
      .get(UsersService)
      .ensureAdmin({ username, email, password }, { promoteExisting: true });
    return `Admin "${user.username}" (${user.id}): ${changes.join(', ') || 'already up to date'}`;
  } finally {
    await app.close();
  }
}

async function migrate(config: AppConfig): Promise<string> {
  const dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
  try {
    const applied = await migrateSchema(dataSource, {
      mode: 'run',
      timeoutSeconds: config.database.migrationsWaitSeconds,
    });
    return applied.length > 0
      ? `Applied ${applied.length} migration(s): ${applied.join(', ')}`
      : 'The schema is up to date';
  } finally {
    await dataSource.destroy();
  }
}

/** Rewrites the vector store for the configured embedder; progress goes to stderr. */
async function reEmbedAll(rest: string[], config: AppConfig): Promise<string> {
  const { values } = parseArgs({
    args: rest,
    options: { 'batch-size': { type: 'string', default: '100' } },
    strict: true,
  });
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 2048) {
    throw new CliUsageError('--batch-size must be an integer from 1 to 2048');
  }
  const { apiKey, baseUrl, embeddingProvider } = config.openai;
  if (embeddingProvider === 'openai' && apiKey === undefined && baseUrl === undefined) {
    throw new CliUsageError(
      're-embed needs the embedder: set OPENAI_API_KEY or OPENAI_BASE_URL, or EMBEDDING_PROVIDER=local',
    );
  }
  const done = await reEmbed(buildMem0Config(config), {
    backupDir: join(config.dataDir, 'mem0', 're-embed'),
    batchSize,
    log: (line) => console.error(line),
  });
  const counts = done.map(
    (c) => `${c.collection}: ${c.rows} rows${c.from ? ` (were ${c.from} dimensions)` : ''}`,
  );
  return `Re-embedded at ${config.openai.embeddingDims} dimensions: ${counts.join(', ')}`;
}

export class CliUsageError extends Error {}

if (require.main === module) {
  runCli(process.argv.slice(2), loadConfig())
    .then((message) => console.log(message))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      if (error instanceof CliUsageError) console.error(CLI_USAGE);
      process.exitCode = 1;
    });
}
