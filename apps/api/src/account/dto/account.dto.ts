import { MemoryRecord } from '@app/ai';
import { AuthenticatedUser } from '@app/common';
import { ChatSession, Message, MESSAGE_ROLES, type MessageRole } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

import { ApiKeyDto } from '../../api-keys/dto/api-key.dto';
import { UserDto } from '../../users/dto/user.dto';

export class DeleteAccountDto {
  @ApiProperty({ description: 'The current password, asked again before anything is deleted' })
  @IsString()
  @Length(1, 128)
  password!: string;
}

export class ExportMessageDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: MESSAGE_ROLES }) role!: MessageRole;
  @ApiProperty() content!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(message: Message): ExportMessageDto {
    return {
      id: message.id,
      role: message.role,
      content: message.content,
      created_at: message.createdAt.toISOString(),
    };
  }
}

export class ExportSessionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiProperty({ type: [ExportMessageDto] }) messages!: ExportMessageDto[];

  static from(session: ChatSession, messages: Message[]): ExportSessionDto {
    return {
      id: session.id,
      title: session.title,
      created_at: session.createdAt.toISOString(),
      updated_at: session.updatedAt.toISOString(),
      messages: messages.map((m) => ExportMessageDto.from(m)),
    };
  }
}

export class ExportMemoryDto {
  @ApiProperty() id!: string;
  @ApiProperty() memory!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) created_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) updated_at!: string | null;
  @ApiProperty({ type: Object }) metadata!: Record<string, unknown>;

  static from(memory: MemoryRecord): ExportMemoryDto {
    return {
      id: memory.id,
      memory: memory.memory,
      created_at: memory.createdAt ?? null,
      updated_at: memory.updatedAt ?? null,
      metadata: memory.metadata,
    };
  }
}

export const MEMORIES_STATUSES = ['ok', 'unavailable'] as const;
export type MemoriesStatus = (typeof MEMORIES_STATUSES)[number];

/** Everything stored about the caller, in one download. */
export class AccountExportDto {
  @ApiProperty({ format: 'date-time' }) exported_at!: string;
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty({ type: [ExportSessionDto] }) sessions!: ExportSessionDto[];
  @ApiProperty({
    type: [ApiKeyDto],
    description: 'Your API keys as lists show them: names, prefixes and dates, never the keys',
  })
  api_keys!: ApiKeyDto[];
  @ApiProperty({ type: [ExportMemoryDto] }) memories!: ExportMemoryDto[];
  @ApiProperty({
    enum: MEMORIES_STATUSES,
    description: '"unavailable" when the memory store could not be read: memories is then empty',
  })
  memories_status!: MemoriesStatus;
}

export function exportFileName(user: Pick<AuthenticatedUser, 'username'>, at: Date): string {
  return `chatbot-export-${user.username}-${at.toISOString().slice(0, 10)}.json`;
}
