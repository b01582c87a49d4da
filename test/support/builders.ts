/**
 * Builders for what specs would otherwise write out by hand: request bodies and unique names for
 * the e2e specs, whole entity rows (to insert, or to hand a mocked repository), and the fakes unit
 * specs share. Each takes the fields a spec cares about and fills the rest with plain values.
 */
import type { MemoryStore } from '@app/ai';
import type { AuthenticatedUser } from '@app/common';
import { AppConfig, Env, loadConfig } from '@app/config';
import type { ChatSession, MemoryJob, Message, User } from '@app/database';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- request bodies (e2e)

/** The password every test user registers with. */
export const PASSWORD = 'correct horse battery';

let names = 0;

/** A username no other call in this process returns: `<prefix><n>_<time>`, at most 32 characters. */
export function uniqueName(prefix = 'user'): string {
  names += 1;
  return `${prefix}${names}_${Date.now().toString(36)}`.slice(0, 32);
}

/** A valid POST /auth/register body with a unique username. */
export function registration(prefix = 'user'): {
  username: string;
  email: string;
  password: string;
} {
  const username = uniqueName(prefix);
  return { username, email: `${username}@example.com`, password: PASSWORD };
}

/** A chat turn's body; without a session id the turn opens a new session. */
export function chatBody(
  message: string,
  sessionId?: string,
): { message: string; session_id?: string } {
  return sessionId === undefined ? { message } : { message, session_id: sessionId };
}

// ---------------------------------------------------------------- entity rows

export function userRow(fields: Partial<User> = {}): User {
  const id = fields.id ?? randomUUID();
  const username = fields.username ?? uniqueName('row');
  const now = new Date();
  return {
    id,
    username,
    usernameKey: `key${id}`,
    email: `${username}@example.com`,
    passwordHash: 'not-a-hash',
    role: 'user',
    tokenVersion: 0,
    disabled: false,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** The user a guard hands a handler. */
export function authenticatedUser(fields: Partial<AuthenticatedUser> = {}): AuthenticatedUser {
  return {
    id: randomUUID(),
    username: 'alice',
    email: 'alice@example.com',
    role: 'user',
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    tokenId: 'jti',
    tokenExpiresAt: new Date('2030-01-01T00:00:00.000Z'),
    ...fields,
  };
}

export function sessionRow(fields: Partial<ChatSession> = {}): ChatSession {
  const now = new Date();
  return {
    id: randomUUID(),
    userId: randomUUID(),
    title: 'New chat',
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** A message as stored; a user message unless `role` says otherwise (replies name no model). */
export function messageRow(fields: Partial<Message> = {}): Message {
  return {
    id: randomUUID(),
    sessionId: randomUUID(),
    userId: randomUUID(),
    role: 'user',
    content: 'Hello',
    model: null,
    promptTokens: null,
    completionTokens: null,
    latencyMs: null,
    createdAt: new Date(),
    ...fields,
  };
}

/**
 * A memory_jobs row: pending and due now unless told. A failed one (`status: 'failed'`) gets the
 * attempts and error a job that ran out of tries has, unless given.
 */
export function memoryJobRow(fields: Partial<MemoryJob> = {}): MemoryJob {
  const now = new Date();
  const failed = fields.status === 'failed';
  return {
    id: randomUUID(),
    userId: randomUUID(),
    sessionId: randomUUID(),
    messageId: randomUUID(),
    replyId: randomUUID(),
    status: 'pending',
    attempts: failed ? 5 : 0,
    runAt: now,
    leaseUntil: null,
    lockedBy: null,
    runningUserId: null,
    lastError: failed ? 'The model call failed' : null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

// ---------------------------------------------------------------- unit-spec fakes

type Parts<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/** An AppConfig holding only the settings a unit spec reads (the rest is undefined). */
export function configWith(parts: Parts<AppConfig>): AppConfig {
  return AppConfig.of(parts as AppConfig);
}

/** A whole config as the app would load it from `env`, on a fresh DATA_DIR, with a JWT secret. */
export function loadTestConfig(env: Env = {}): AppConfig {
  return loadConfig({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'unit-spec-')),
    JWT_SECRET: 'k'.repeat(32),
    ...env,
  });
}

/** MemoryStore's methods as mocks that succeed with nothing; `configured` and `extracts` are true. */
export function fakeMemoryStore() {
  return {
    configured: true,
    extracts: true,
    search: jest.fn().mockResolvedValue([]),
    add: jest.fn().mockResolvedValue([]),
    count: jest.fn().mockResolvedValue(0),
    list: jest.fn().mockResolvedValue([]),
    get: jest.fn().mockResolvedValue(null),
    update: jest.fn(),
    delete: jest.fn().mockResolvedValue(undefined),
    deleteAll: jest.fn().mockResolvedValue(undefined),
    history: jest.fn().mockResolvedValue([]),
    recordHistory: jest.fn().mockResolvedValue(undefined),
    eraseUser: jest.fn().mockResolvedValue(0),
    ping: jest.fn().mockResolvedValue(undefined),
    warmUp: jest.fn().mockResolvedValue(undefined),
  } satisfies Record<keyof MemoryStore, unknown>;
}
