import { LlmClient, MemoryRecord, MemoryStore } from '@app/ai';
import { DomainError, ErrorCode, Page } from '@app/common';
import { AppConfig } from '@app/config';
import { MemoryJobsService } from '@app/memory-jobs';
import { Injectable } from '@nestjs/common';

import {
  MemoryDto,
  MemoryHistoryDto,
  MemoryHistoryEntryDto,
  MemoryJobDto,
  MemoryJobListDto,
  MemorySearchResultDto,
  MemorySearchResultsDto,
  MemorySummaryDto,
} from './dto/memory.dto';
import { buildSummaryPrompt, SUMMARY_MEMORY_LIMIT, summaryBasis, SummaryCache } from './summary';

/**
 * The caller's own long-term memories. Every method takes the verified user id; MemoryStore
 * checks that a memory id is that user's (another user's id is "not found").
 */
@Injectable()
export class MemoryService {
  private readonly summaries: SummaryCache;

  constructor(
    config: AppConfig,
    private readonly store: MemoryStore,
    private readonly llm: LlmClient,
    private readonly jobs: MemoryJobsService,
  ) {
    this.summaries = new SummaryCache(config.limits.summaryMinIntervalSeconds * 1000);
  }

  async searchForUser(
    userId: string,
    query: string,
    limit: number,
  ): Promise<MemorySearchResultsDto> {
    const found = await this.store.search(userId, query, limit);
    return { results: found.map((m) => MemorySearchResultDto.from(m)) };
  }

  async listForUser(userId: string, limit: number, offset: number): Promise<Page<MemoryDto>> {
    const all = newestFirst(await this.store.list(userId));
    const items = all.slice(offset, offset + limit).map((m) => MemoryDto.from(m));
    return { items, total: all.length, limit, offset };
  }

  async getForUser(userId: string, memoryId: string): Promise<MemoryDto> {
    const memory = await this.store.get(userId, memoryId);
    if (!memory) throw new DomainError(ErrorCode.MemoryNotFound, 'Memory not found');
    return MemoryDto.from(memory);
  }

  async updateForUser(userId: string, memoryId: string, text: string): Promise<MemoryDto> {
    return MemoryDto.from(await this.store.update(userId, memoryId, text));
  }

  async deleteForUser(userId: string, memoryId: string): Promise<void> {
    await this.store.delete(userId, memoryId);
  }

  async deleteAllForUser(userId: string): Promise<void> {
    await this.store.deleteAll(userId);
    this.summaries.forget(userId);
  }

  /** Oldest first (mem0 answers newest first), so it reads as the memory's story. */
  async historyForUser(userId: string, memoryId: string): Promise<MemoryHistoryDto> {
    const entries = await this.store.history(userId, memoryId);
    return { items: [...entries].reverse().map((e) => MemoryHistoryEntryDto.from(e)) };
  }

  /**
   * The model is asked only when the memories changed since the last summary, and at most once
   * per SUMMARY_MIN_INTERVAL_SECONDS.
   */
  async summaryForUser(userId: string): Promise<MemorySummaryDto> {
    const memories = await this.store.list(userId);
    if (memories.length === 0) {
      this.summaries.forget(userId);
      return { summary: '', memory_count: 0 };
    }
    const summary = await this.summaries.summary(userId, summaryBasis(memories), () =>
      this.writeSummary(memories),
    );
    return { summary, memory_count: memories.length };
  }

  /** Extraction jobs still to run, running, or failed for good; finished ones leave the queue. */
  async jobsForUser(userId: string): Promise<MemoryJobListDto> {
    const jobs = await this.jobs.listForUser(userId);
    return { items: jobs.map((j) => MemoryJobDto.from(j)) };
  }

  private async writeSummary(memories: MemoryRecord[]): Promise<string> {
    const newest = newestFirst(memories).slice(0, SUMMARY_MEMORY_LIMIT);
    const completion = await this.llm.complete(buildSummaryPrompt(newest));
    return completion.content.trim();
  }
}

/** Newest first; the id breaks ties so that pages never overlap. */
function newestFirst(memories: MemoryRecord[]): MemoryRecord[] {
  return [...memories].sort(
    (a, b) => time(b.createdAt) - time(a.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

function time(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}
