import { ChatSession, Message, MESSAGE_ROLES, type MessageRole } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length } from 'class-validator';

export const MAX_TITLE_LENGTH = 200;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

export class CreateSessionDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: MAX_TITLE_LENGTH, default: 'New chat' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, MAX_TITLE_LENGTH, { message: `title must be 1-${MAX_TITLE_LENGTH} characters` })
  title?: string;
}

export class RenameSessionDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_TITLE_LENGTH, example: 'Trip to Lisbon' })
  @Transform(trim)
  @IsString()
  @Length(1, MAX_TITLE_LENGTH, { message: `title must be 1-${MAX_TITLE_LENGTH} characters` })
  title!: string;
}

export class SessionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time', description: 'Last activity: a message or a rename' })
  updated_at!: string;
  @ApiProperty() message_count!: number;

  static from(session: ChatSession, messageCount: number): SessionDto {
    return {
      id: session.id,
      title: session.title,
      created_at: session.createdAt.toISOString(),
      updated_at: session.updatedAt.toISOString(),
      message_count: messageCount,
    };
  }
}

export class MessageDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: MESSAGE_ROLES }) role!: MessageRole;
  @ApiProperty() content!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(message: Message): MessageDto {
    return {
      id: message.id,
      role: message.role,
      content: message.content,
      created_at: message.createdAt.toISOString(),
    };
  }
}
