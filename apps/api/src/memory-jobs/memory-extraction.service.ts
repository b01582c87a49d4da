import { MemoryStore } from '@app/ai';
import { MemoryJob, Message } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';

/** What one job does: hand a stored turn to mem0 so it can learn facts about the user. */
@Injectable()
export class MemoryExtractionService {
  constructor(
    private readonly store: MemoryStore,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
  ) {}

  async extract(job: MemoryJob): Promise<void> {
    const turn = await this.messages.find({
      where: { id: In([job.messageId, job.replyId]), userId: job.userId },
      order: { createdAt: 'ASC' },
    });
    // The session was deleted before extraction ran: the user withdrew that conversation.
    if (!turn.some((m) => m.role === 'user')) return;
    if (job.attempts > 1) await this.forgetEarlierAttempt(job);
    await this.store.add(
      job.userId,
      turn.map((m) => ({ role: m.role, content: m.content })),
      { session_id: job.sessionId, message_id: job.messageId, job_id: job.id },
    );
  }

  /** A re-run (the previous worker died mid-way) first removes what that attempt stored. */
  private async forgetEarlierAttempt(job: MemoryJob): Promise<void> {
    const stored = await this.store.list(job.userId);
    for (const memory of stored.filter((m) => m.metadata.job_id === job.id)) {
      await this.store.delete(job.userId, memory.id);
    }
  }
}
