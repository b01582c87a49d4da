import { IsCanonicalUuid } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class ChatRequestDto {
  @ApiProperty({ description: '1 to MAX_MESSAGE_CHARS (default 8000) characters' })
  @IsString()
  @MinLength(1)
  // The configured limit is checked by the service; this only bounds what validation reads.
  @MaxLength(1_000_000)
  message!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Omit to start a new session' })
  @IsOptional()
  @IsCanonicalUuid()
  session_id?: string;

  @ApiPropertyOptional({ description: 'Answer with Server-Sent Events' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}

export class MemoryUsedDto {
  @ApiProperty() id!: string;
  @ApiProperty() memory!: string;
  @ApiProperty({ nullable: true }) score!: number | null;
}

export class UsageDto {
  @ApiProperty() prompt_tokens!: number;
  @ApiProperty() completion_tokens!: number;
}

export const MEMORY_STATUSES = ['ok', 'unavailable', 'disabled'] as const;
export type MemoryStatus = (typeof MEMORY_STATUSES)[number];

export class ChatResponseDto {
  @ApiProperty({ format: 'uuid' }) session_id!: string;
  @ApiProperty({ format: 'uuid', description: 'The stored reply' }) message_id!: string;
  @ApiProperty() response!: string;
  @ApiProperty({ type: [MemoryUsedDto] }) memories_used!: MemoryUsedDto[];
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({
    enum: MEMORY_STATUSES,
    description: '"unavailable" when memory retrieval failed and the turn answered without it',
  })
  memory_status!: MemoryStatus;
}
