import { MemoryRecord, MemoryStore } from '@app/ai';
import { MemoryJob, Message } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';

/**
 * What a batch of jobs does: hand the stored turns of one user's session to mem0, in one call, so
 * it can learn facts about the user. The first job leads: the memories carry its id (and the
 * session and the newest turn's message id) as their source.
 */
@Injectable()
export class MemoryExtractionService {
  constructor(
    private readonly store: MemoryStore,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
  ) {}

  async extract(batch: MemoryJob[]): Promise<void> {
    const [lead] = batch;
    const found = await this.messages.find({
      where: { id: In(batch.flatMap((j) => [j.messageId, j.replyId])), userId: lead.userId },
    });
    const byId = new Map(found.map((m) => [m.id, m]));
    const turns = [...batch]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      // The session was deleted before extraction ran: the user withdrew that conversation.
      .filter((job) => byId.get(job.messageId)?.role === 'user');
    if (turns.length === 0) return;
    if (batch.some((job) => job.attempts > 1)) await this.forgetEarlierAttempts(batch);
    await this.store.add(
      lead.userId,
      turns.flatMap((job) =>
        [byId.get(job.messageId), byId.get(job.replyId)]
          .filter((m): m is Message => m !== undefined)
          .map((m) => ({ role: m.role, content: m.content })),
      ),
      {
        session_id: lead.sessionId,
        message_id: turns[turns.length - 1].messageId,
        job_id: lead.id,
        job_ids: batch.map((job) => job.id),
      },
    );
  }

  /**
   * A re-run (the previous worker died mid-way) first removes what earlier attempts stored from
   * any of these turns, even when an earlier batch was cut differently.
   */
  private async forgetEarlierAttempts(batch: MemoryJob[]): Promise<void> {
    const ids = new Set(batch.map((job) => job.id));
    const learnedHere = ({ metadata }: MemoryRecord) =>
      [
        metadata.job_id,
        ...(Array.isArray(metadata.job_ids) ? (metadata.job_ids as unknown[]) : []),
      ].some((id) => typeof id === 'string' && ids.has(id));
    const stored = await this.store.list(batch[0].userId);
    for (const memory of stored.filter(learnedHere)) {
      await this.store.delete(batch[0].userId, memory.id);
    }
  }
}
