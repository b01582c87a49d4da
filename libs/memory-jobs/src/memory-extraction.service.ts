import { MemoryRecord, MemoryStore } from '@app/ai';
import { AppConfig } from '@app/config';
import { MemoryJob, Message } from '@app/database';
import { MessagesRepository } from '@app/messages';
import { Injectable } from '@nestjs/common';

import { FactConflictResolver } from './conflicts/fact-conflict.resolver';

/**
 * Extraction that must not run, and whose retry would not help: the job fails for good, and its
 * message is shown to the user (memory jobs) and the admin.
 */
export class ExtractionRefused extends Error {
  override readonly name = 'ExtractionRefused';
}

/**
 * What a batch of jobs does: hand the stored turns of one user's session to mem0, in one call, so
 * it can learn facts about the user. The first job leads: the memories carry its id (and the
 * session and the newest turn's message id) as their source. Then the new facts are weighed
 * against the user's older memories (FactConflictResolver): a fact that changed replaces the old.
 */
@Injectable()
export class MemoryExtractionService {
  constructor(
    private readonly config: AppConfig,
    private readonly store: MemoryStore,
    private readonly messages: MessagesRepository,
    private readonly conflicts: FactConflictResolver,
  ) {}

  async extract(batch: MemoryJob[]): Promise<void> {
    const [lead] = batch;
    const found = await this.messages.findByIdsForUser(
      lead.userId,
      batch.flatMap((j) => [j.messageId, j.replyId]),
    );
    const byId = new Map(found.map((m) => [m.id, m]));
    const turns = [...batch]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      // The session was deleted before extraction ran: the user withdrew that conversation.
      .filter((job) => byId.get(job.messageId)?.role === 'user');
    if (turns.length === 0) return;
    if (batch.some((job) => job.attempts > 1)) await this.forgetEarlierAttempts(batch);
    const maxFacts = await this.roomFor(lead.userId, turns.length);
    const source = {
      session_id: lead.sessionId,
      message_id: turns[turns.length - 1].messageId,
      job_id: lead.id,
      job_ids: batch.map((job) => job.id),
    };
    const learned = await this.store.add(
      lead.userId,
      turns.flatMap((job) =>
        [byId.get(job.messageId), byId.get(job.replyId)]
          .filter((m): m is Message => m !== undefined)
          .map((m) => ({ role: m.role, content: m.content })),
      ),
      source,
      maxFacts,
    );
    // Only ever removes memories (or changes texts): the caps above still hold afterwards. A
    // memory it updates takes this source, so a re-run forgets it with the rest (see below).
    await this.conflicts.resolve(lead.userId, learned, source);
  }

  /**
   * How many new memories these turns may add: MEMORY_MAX_FACTS_PER_TURN each, within what is
   * left of MEMORY_MAX_PER_USER. A user at the cap learns nothing more until they delete some:
   * the extraction is refused, visibly, rather than dropping older memories behind their back.
   */
  private async roomFor(userId: string, turns: number): Promise<number> {
    const { maxMemoriesPerUser, maxFactsPerTurn } = this.config.memoryJobs;
    const perTurns = maxFactsPerTurn * turns;
    if (maxMemoriesPerUser === 0) return perTurns;
    const stored = await this.store.count(userId, maxMemoriesPerUser);
    if (stored >= maxMemoriesPerUser) {
      throw new ExtractionRefused(
        `Memory is full (${maxMemoriesPerUser} memories): delete some to let the assistant learn new facts`,
      );
    }
    return Math.min(perTurns, maxMemoriesPerUser - stored);
  }

  /**
   * A re-run (the previous worker died mid-way) first removes what earlier attempts stored from
   * any of these turns, even when an earlier batch was cut differently: an older memory that an
   * earlier attempt updated from them too (its text came from these turns; the re-run learns it
   * again). A memory an earlier attempt retired stays retired.
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
