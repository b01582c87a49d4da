import { ChatSession, Message } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

export interface SessionWithMessages {
  session: ChatSession;
  messages: Message[];
}

/** Reads everything the database holds about one user, for their export. */
@Injectable()
export class AccountRepository {
  constructor(
    @InjectRepository(ChatSession) private readonly sessions: Repository<ChatSession>,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
  ) {}

  /** Sessions oldest first, each with its messages oldest first; ids break ties. */
  async sessionsWithMessages(userId: string): Promise<SessionWithMessages[]> {
    const [sessions, messages] = await Promise.all([
      this.sessions.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } }),
      this.messages.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } }),
    ]);
    const bySession = new Map<string, Message[]>(sessions.map((s) => [s.id, []]));
    for (const message of messages) bySession.get(message.sessionId)?.push(message);
    return sessions.map((session) => ({ session, messages: bySession.get(session.id) ?? [] }));
  }
}
