import { MemoryHistoryEntry, MemoryRecord } from '@app/ai';
import { MEMORY_JOB_STATUSES, MemoryJob, type MemoryJobStatus } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export const MAX_MEMORY_TEXT = 2000;
export const DEFAULT_SEARCH_LIMIT = 5;
export const MAX_SEARCH_LIMIT = 50;

const NOT_BLANK = /\S/;

export class SearchMemoriesDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_MEMORY_TEXT, example: 'Where do I live?' })
  @IsString()
  @Length(1, MAX_MEMORY_TEXT, { message: `query must be 1-${MAX_MEMORY_TEXT} characters` })
  @Matches(NOT_BLANK, { message: 'query must not be blank' })
  query!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT })
  // An explicit null means "not given", as for the other optional fields: the default applies.
  @Transform(({ value }: { value: unknown }) => value ?? DEFAULT_SEARCH_LIMIT)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEARCH_LIMIT)
  limit: number = DEFAULT_SEARCH_LIMIT;
}

export class UpdateMemoryDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_MEMORY_TEXT, example: 'I live in Porto.' })
  @IsString()
  @Length(1, MAX_MEMORY_TEXT, { message: `memory must be 1-${MAX_MEMORY_TEXT} characters` })
  @Matches(NOT_BLANK, { message: 'memory must not be blank' })
  memory!: string;
}

export class MemorySearchResultDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() memory!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Relevance; higher is closer' })
  score!: number | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) created_at!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) updated_at!: string | null;

  static from(record: MemoryRecord): MemorySearchResultDto {
    return {
      id: record.id,
      memory: record.memory,
      score: record.score ?? null,
      created_at: isoOrNull(record.createdAt),
      updated_at: isoOrNull(record.updatedAt),
    };
  }
}

export class MemorySearchResultsDto {
  @ApiProperty({ type: [MemorySearchResultDto], description: 'Most relevant first' })
  results!: MemorySearchResultDto[];
}

export class MemorySourceDto {
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'Where it was learned',
  })
  session_id!: string | null;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'The user message it was learned from',
  })
  message_id!: string | null;
}

export class MemoryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() memory!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) created_at!: string | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When it last changed',
  })
  updated_at!: string | null;
  @ApiProperty({ type: MemorySourceDto }) metadata!: MemorySourceDto;

  static from(record: MemoryRecord): MemoryDto {
    return {
      id: record.id,
      memory: record.memory,
      created_at: isoOrNull(record.createdAt),
      updated_at: isoOrNull(record.updatedAt),
      metadata: {
        session_id: stringOrNull(record.metadata.session_id),
        message_id: stringOrNull(record.metadata.message_id),
      },
    };
  }
}

export class MemorySummaryDto {
  @ApiProperty({ description: 'Written by the model; empty when nothing is remembered' })
  summary!: string;
  @ApiProperty() memory_count!: number;
}

export class MemoryHistoryEntryDto {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'uuid' }) memory_id!: string;
  @ApiProperty({ nullable: true, type: String }) previous_value!: string | null;
  @ApiProperty({ nullable: true, type: String }) new_value!: string | null;
  @ApiProperty({
    example: 'ADD',
    description:
      'ADD (learned), UPDATE (the text changed: an edit, or a newer fact superseded it) or ' +
      'DELETE (learning this memory retired an older one it contradicted, whose text is ' +
      'previous_value)',
  })
  action!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) created_at!: string | null;

  static from(entry: MemoryHistoryEntry): MemoryHistoryEntryDto {
    return {
      // mem0's SQLite history store numbers its rows.
      id: String(entry.id),
      memory_id: entry.memoryId,
      previous_value: entry.previousValue,
      new_value: entry.newValue,
      action: entry.action,
      created_at: isoOrNull(entry.createdAt),
    };
  }
}

export class MemoryHistoryDto {
  @ApiProperty({ type: [MemoryHistoryEntryDto], description: 'Oldest first' })
  items!: MemoryHistoryEntryDto[];
}

export class MemoryJobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: MEMORY_JOB_STATUSES }) status!: MemoryJobStatus;
  @ApiProperty({ description: 'Attempts started so far' }) attempts!: number;
  @ApiProperty({ format: 'uuid' }) session_id!: string;
  @ApiProperty({ format: 'uuid', description: 'The user message of the turn' })
  message_id!: string;
  @ApiProperty({ nullable: true, type: String }) last_error!: string | null;
  @ApiProperty({ format: 'date-time', description: 'When it runs next (or last ran)' })
  run_at!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(job: MemoryJob): MemoryJobDto {
    return {
      id: job.id,
      status: job.status,
      attempts: job.attempts,
      session_id: job.sessionId,
      message_id: job.messageId,
      last_error: job.lastError,
      run_at: job.runAt.toISOString(),
      created_at: job.createdAt.toISOString(),
    };
  }
}

export class MemoryJobListDto {
  @ApiProperty({ type: [MemoryJobDto], description: 'Oldest first' }) items!: MemoryJobDto[];
}

/** mem0 stores ISO strings; anything unparsable (another vector store's format) becomes null. */
function isoOrNull(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
