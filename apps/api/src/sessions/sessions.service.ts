import { DomainError, ErrorCode, Page } from '@app/common';
import { ChatSession, Message } from '@app/database';
import { MessagesRepository } from '@app/messages';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

import { MAX_TITLE_LENGTH, MessageDto, SessionDto } from './dto/session.dto';
import { SessionsRepository } from './sessions.repository';

export const DEFAULT_SESSION_TITLE = 'New chat';
const MESSAGE_TITLE_LENGTH = 60;

export interface UserChatCounts {
  sessionCount: number;
  messageCount: number;
}

export interface SessionWithMessages {
  session: ChatSession;
  messages: Message[];
}

export interface SessionWithCount {
  /** With `user` holding the owner's id and username. */
  session: ChatSession;
  messageCount: number;
}

/**
 * A session title from a chat message: its first non-blank line, whitespace collapsed, cut to
 * 60 characters on a word boundary with "…" when cut (the "…" counts in the 60).
 */
export function titleFromMessage(message: string): string {
  const line = message.split(/\r\n|\r|\n/).find((l) => l.trim() !== '') ?? '';
  // Code points, so an emoji is never split in half.
  const chars = Array.from(line.replace(/\s+/g, ' ').trim());
  if (chars.length === 0) return DEFAULT_SESSION_TITLE;
  if (chars.length <= MESSAGE_TITLE_LENGTH) return chars.join('');
  const room = MESSAGE_TITLE_LENGTH - 1;
  let cut = room;
  if (chars[room] !== ' ') {
    const lastSpace = chars.lastIndexOf(' ', room - 1);
    // One very long word: a hard cut keeps more of the title than cutting back to its start.
    if (lastSpace >= room / 2) cut = lastSpace;
  }
  return `${chars.slice(0, cut).join('').trimEnd()}…`;
}

@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly messages: MessagesRepository,
  ) {}

  async listForUser(userId: string, limit: number, offset: number): Promise<Page<SessionDto>> {
    const [sessions, total] = await this.sessions.findPageForUser(userId, limit, offset);
    const counts = await this.messages.countBySession(sessions.map((s) => s.id));
    const items = sessions.map((s) => SessionDto.from(s, counts.get(s.id) ?? 0));
    return { items, total, limit, offset };
  }

  createForUser(userId: string, title?: string): Promise<ChatSession> {
    return this.sessions.insert(this.draft(userId, title));
  }

  /** The id of the user's session the client named `clientKey`, if there is one. */
  async findIdByClientKey(userId: string, clientKey: string): Promise<string | undefined> {
    return (await this.sessions.findByClientKey(userId, clientKey))?.id;
  }

  /** A new session, not yet stored (a chat turn stores it with its first message). */
  draft(userId: string, title?: string): ChatSession {
    const now = new Date();
    return {
      id: randomUUID(),
      userId,
      title: normalizeTitle(title),
      createdAt: now,
      updatedAt: now,
    };
  }

  /** The user's session; another user's session is "not found" too, so ids reveal nothing. */
  async getForUser(userId: string, sessionId: string): Promise<ChatSession> {
    const session = await this.sessions.findForUser(userId, sessionId);
    if (!session) throw new DomainError(ErrorCode.SessionNotFound, 'Session not found');
    return session;
  }

  async showForUser(userId: string, sessionId: string): Promise<SessionDto> {
    const session = await this.getForUser(userId, sessionId);
    return SessionDto.from(session, await this.messages.countInSession(session.id));
  }

  /** A rename counts as activity: the session moves to the top of the list. */
  async renameForUser(userId: string, sessionId: string, title: string): Promise<SessionDto> {
    const changes = { title: normalizeTitle(title), updatedAt: new Date() };
    if (!(await this.sessions.updateForUser(userId, sessionId, changes))) {
      throw new DomainError(ErrorCode.SessionNotFound, 'Session not found');
    }
    return this.showForUser(userId, sessionId);
  }

  /** The session and its messages (the foreign key cascades); the user's memories stay. */
  async deleteForUser(userId: string, sessionId: string): Promise<void> {
    if (!(await this.sessions.deleteForUser(userId, sessionId))) {
      throw new DomainError(ErrorCode.SessionNotFound, 'Session not found');
    }
  }

  async messagesForUser(
    userId: string,
    sessionId: string,
    limit: number,
    offset: number,
  ): Promise<Page<MessageDto>> {
    const session = await this.getForUser(userId, sessionId);
    const [messages, total] = await this.messages.findPageInSession(session.id, limit, offset);
    return { items: messages.map((m) => MessageDto.from(m)), total, limit, offset };
  }

  /** The session's last `limit` messages, oldest first, as model context. */
  async recentMessages(sessionId: string, limit: number): Promise<Message[]> {
    // TypeORM reads `take: 0` as "no limit".
    if (limit <= 0) return [];
    const newestFirst = await this.messages.findLastInSession(sessionId, limit);
    return newestFirst.reverse();
  }

  /** Session and message counts for each of the given users, in one query per count. */
  async countsForUsers(userIds: string[]): Promise<Map<string, UserChatCounts>> {
    const [sessions, messages] = await Promise.all([
      this.sessions.countSessionsByUser(userIds),
      this.messages.countByUser(userIds),
    ]);
    return new Map(
      userIds.map((id) => [
        id,
        { sessionCount: sessions.get(id) ?? 0, messageCount: messages.get(id) ?? 0 },
      ]),
    );
  }

  /** Every session of the user with its messages, both oldest first (the account export). */
  async exportForUser(userId: string): Promise<SessionWithMessages[]> {
    const [sessions, messages] = await Promise.all([
      this.sessions.findAllForUser(userId),
      this.messages.findAllForUser(userId),
    ]);
    const bySession = new Map<string, Message[]>(sessions.map((s) => [s.id, []]));
    for (const message of messages) bySession.get(message.sessionId)?.push(message);
    return sessions.map((session) => ({ session, messages: bySession.get(session.id) ?? [] }));
  }

  /** Sessions of every user (or of `userId`), newest activity first, with owners and counts. */
  async listAll(
    filter: { userId?: string },
    limit: number,
    offset: number,
  ): Promise<{ items: SessionWithCount[]; total: number }> {
    const [sessions, total] = await this.sessions.findPageWithOwners(filter, limit, offset);
    const counts = await this.messages.countBySession(sessions.map((s) => s.id));
    const items = sessions.map((session) => ({
      session,
      messageCount: counts.get(session.id) ?? 0,
    }));
    return { items, total };
  }
}

/** Trimmed, never empty, and within the column's length whatever the caller passed. */
function normalizeTitle(title: string | undefined): string {
  const trimmed = Array.from(title?.trim() ?? '')
    .slice(0, MAX_TITLE_LENGTH)
    .join('')
    .trim();
  return trimmed === '' ? DEFAULT_SESSION_TITLE : trimmed;
}
