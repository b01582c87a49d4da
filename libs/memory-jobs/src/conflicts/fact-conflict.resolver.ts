import { LlmClient, MemoryRecord, MemorySource, MemoryStore } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';

import { Decision, readDecisions } from './conflict-decisions';
import { conflictQuestion, NewFact } from './conflict-question';

/** How many of the user's older memories, the closest, each new fact is weighed against. */
export const CLOSE_MEMORIES_PER_FACT = 3;

/** What resolving changed: for the log and the tests. */
export interface Resolution {
  /** Whether the model was asked (only when some new fact had a close older memory). */
  asked: boolean;
  updated: number;
  retired: number;
  dropped: number;
}

const NOTHING: Resolution = { asked: false, updated: 0, retired: 0, dropped: 0 };

/**
 * Mem0 3.x only ever adds: "I live in Lisbon" and, a month later, "I moved to Berlin" would both
 * stay and both be recalled. After an extraction has stored its facts, this looks up, for each,
 * the user's closest older memories (MEMORY_CONFLICT_SIMILARITY); when any is close, one model
 * call in JSON mode decides per fact: ADD (keep both), UPDATE (the old memory takes the new text;
 * the new memory goes), DELETE (the old memory is retired; the new stays, its history naming the
 * old text) or NONE (a repeat: the new memory goes). An answer that is not understood, or a
 * model call that fails, changes nothing: every new fact stays. See docs/architecture.md.
 *
 * Safe against concurrent changes (the user editing or deleting, a second worker on the same
 * user after a lost lease): a memory that vanished meanwhile is skipped, never a failure, and a
 * new fact is only dropped while the memory that makes it redundant still exists.
 */
@Injectable()
export class FactConflictResolver {
  private readonly logger = new Logger(FactConflictResolver.name);

  constructor(
    private readonly config: AppConfig,
    private readonly store: MemoryStore,
    private readonly llm: LlmClient,
  ) {}

  get enabled(): boolean {
    return this.config.memoryJobs.resolveConflicts;
  }

  /** Weighs the memories an extraction just stored (`learned`) against the user's older ones. */
  async resolve(
    userId: string,
    learned: MemoryRecord[],
    source: MemorySource,
  ): Promise<Resolution> {
    if (!this.enabled || learned.length === 0) return NOTHING;
    // A user's first memories have nothing to contradict: no search, no call.
    if ((await this.store.count(userId, learned.length + 1)) <= learned.length) return NOTHING;
    const facts = await this.closeMemories(userId, learned);
    if (facts.length === 0) return NOTHING;

    const question = conflictQuestion(facts);
    const log = { user_id: userId, job_ids: source.job_ids ?? [source.job_id] };
    let answer: string;
    try {
      answer = (await this.llm.completeJson(question.messages)).content;
    } catch (error) {
      // The facts are stored already; a retry would only learn them again. They stay.
      this.logger.warn({ ...log, err: error }, 'Memory conflict check failed; new facts kept');
      return { ...NOTHING, asked: true };
    }
    const read = readDecisions(answer, question);
    if ('problem' in read) {
      this.logger.warn(
        { ...log, problem: read.problem },
        'Memory conflict answer not understood; new facts kept',
      );
      return { ...NOTHING, asked: true };
    }
    const done: Resolution = { ...NOTHING, asked: true };
    for (const decision of read.decisions) await this.apply(userId, decision, source, done);
    this.logger.debug({ ...log, ...done }, 'Memory conflicts resolved');
    return done;
  }

  /** The new facts that have older memories close to them, with those memories. */
  private async closeMemories(userId: string, learned: MemoryRecord[]): Promise<NewFact[]> {
    const fresh = new Set(learned.map((m) => m.id));
    const facts: NewFact[] = [];
    for (const memory of learned) {
      // The new memories are found too (the fact itself first): asked for beyond the count.
      const found = await this.store.search(
        userId,
        memory.memory,
        CLOSE_MEMORIES_PER_FACT + learned.length,
        this.config.memoryJobs.conflictSimilarity,
      );
      const close = found.filter((m) => !fresh.has(m.id)).slice(0, CLOSE_MEMORIES_PER_FACT);
      if (close.length > 0) facts.push({ memory, close });
    }
    return facts;
  }

  private async apply(
    userId: string,
    { event, fact, memory, text }: Decision,
    source: MemorySource,
    done: Resolution,
  ): Promise<void> {
    if (event === 'UPDATE') {
      // The old memory first: should the rest fail, the new fact is still stored once.
      if (!(await this.unlessGone(() => this.store.update(userId, memory.id, text!, source))))
        return;
      await this.unlessGone(() => this.store.delete(userId, fact.id));
      done.updated++;
    } else if (event === 'DELETE') {
      // Its text now: another job may have updated it since it was looked up.
      const retired = await this.store.get(userId, memory.id);
      if (!retired || !(await this.unlessGone(() => this.store.delete(userId, memory.id)))) return;
      await this.unlessGone(() =>
        this.store.recordHistory(userId, fact.id, {
          action: 'DELETE',
          previousValue: retired.memory,
          newValue: fact.memory,
        }),
      );
      done.retired++;
    } else {
      // A repeat goes only while what it repeats is there.
      if (!(await this.store.get(userId, memory.id))) return;
      await this.unlessGone(() => this.store.delete(userId, fact.id));
      done.dropped++;
    }
  }

  /**
   * Runs a change on a memory that may have been deleted meanwhile (by the user, or by another
   * worker resolving against it): then there is nothing left to change. False when it was gone.
   */
  private async unlessGone(change: () => Promise<unknown>): Promise<boolean> {
    try {
      await change();
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.MemoryNotFound) return false;
      throw error;
    }
  }
}
