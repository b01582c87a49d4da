import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';

/*
 * OpenAI's chat-completions request, as far as this backend serves it. Fields OpenAI knows and we
 * do not use (tools, logprobs, seed, …) and fields nobody knows are ignored, as OpenAI ignores
 * unknown ones; a field we read is checked as OpenAI checks it, and refused in OpenAI's shape.
 */

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
/** Room for long conversations; the body limit (1 MiB) bounds them first. */
export const MAX_MESSAGES = 1000;
/** At most this many stop sequences, as OpenAI allows. */
export const MAX_STOP_SEQUENCES = 4;

export interface TextPart {
  type: 'text';
  text: string;
}

/** A string, or a list of text parts; null (or absent) only for an assistant message. */
function IsMessageContent(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMessageContent',
      validator: {
        validate: (value: unknown, args) => {
          if (value === null || value === undefined)
            return (args?.object as { role?: unknown }).role === 'assistant';
          if (typeof value === 'string') return true;
          return (
            Array.isArray(value) &&
            value.every(
              (part: unknown) =>
                typeof part === 'object' &&
                part !== null &&
                (part as { type?: unknown }).type === 'text' &&
                typeof (part as { text?: unknown }).text === 'string',
            )
          );
        },
        defaultMessage: () =>
          'content must be a string or a list of text parts ({"type": "text", "text": "..."}); ' +
          'other parts (images, audio, files) are not supported',
      },
    },
    options,
  );
}

/** A string or a list of at most MAX_STOP_SEQUENCES strings. */
function IsStop(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStop',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' ||
          (Array.isArray(value) &&
            value.length <= MAX_STOP_SEQUENCES &&
            value.every((s) => typeof s === 'string')),
        defaultMessage: () =>
          `stop must be a string or a list of at most ${MAX_STOP_SEQUENCES} strings`,
      },
    },
    options,
  );
}

export class ChatCompletionMessageDto {
  @ApiProperty({
    enum: MESSAGE_ROLES,
    description: '`developer` is sent to the model as `system`; tool messages are not supported',
  })
  @IsIn(MESSAGE_ROLES, {
    message: `role must be one of ${MESSAGE_ROLES.join(', ')} (tool calls are not supported)`,
  })
  role!: MessageRole;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          type: 'object',
          properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
          required: ['type', 'text'],
        },
      },
    ],
    description: 'null (or absent) only for an assistant message',
  })
  @IsMessageContent()
  content!: string | TextPart[] | null;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({ description: 'A last chunk with `usage` and no choices' })
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

export class ChatCompletionRequestDto {
  @ApiProperty({ description: 'An id from GET /v1/models' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  model!: string;

  @ApiProperty({ type: [ChatCompletionMessageDto], description: 'The whole conversation' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MESSAGES)
  @ValidateNested({ each: true })
  @Type(() => ChatCompletionMessageDto)
  messages!: ChatCompletionMessageDto[];

  @ApiPropertyOptional({ description: 'Answer as `chat.completion.chunk` Server-Sent Events' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  @ApiPropertyOptional({ type: StreamOptionsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number | null;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number | null;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_completion_tokens?: number | null;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }],
  })
  @IsOptional()
  @IsStop()
  stop?: string | string[] | null;

  @ApiPropertyOptional({ description: 'Accepted and not used: the caller is known by its key' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string | null;

  @ApiPropertyOptional({ description: 'Only 1 is served', minimum: 1, maximum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'n must be 1: one choice is served' })
  @Max(1, { message: 'n must be 1: one choice is served' })
  n?: number | null;
}

export class CompletionUsageDto {
  @ApiProperty() prompt_tokens!: number;
  @ApiProperty() completion_tokens!: number;
  @ApiProperty() total_tokens!: number;
}

export class CompletionMessageDto {
  @ApiProperty({ enum: ['assistant'] }) role!: 'assistant';
  @ApiProperty() content!: string;
  @ApiProperty({ type: String, nullable: true }) refusal!: null;
}

export class CompletionChoiceDto {
  @ApiProperty() index!: number;
  @ApiProperty({ type: CompletionMessageDto }) message!: CompletionMessageDto;
  @ApiProperty({ type: Object, nullable: true }) logprobs!: null;
  @ApiProperty({ example: 'stop', description: '`stop`, `length`, … as the model said' })
  finish_reason!: string;
}

export class ChatCompletionDto {
  @ApiProperty({ example: 'chatcmpl-0f8c…' }) id!: string;
  @ApiProperty({ enum: ['chat.completion'] }) object!: 'chat.completion';
  @ApiProperty({ description: 'Unix seconds' }) created!: number;
  @ApiProperty() model!: string;
  @ApiProperty({ type: [CompletionChoiceDto] }) choices!: CompletionChoiceDto[];
  @ApiProperty({ type: CompletionUsageDto }) usage!: CompletionUsageDto;
}

export class ModelDto {
  @ApiProperty({ description: 'The configured chat model (OPENAI_MODEL)' }) id!: string;
  @ApiProperty({ enum: ['model'] }) object!: 'model';
  @ApiProperty({ description: 'Unix seconds' }) created!: number;
  @ApiProperty() owned_by!: string;
}

export class ModelListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [ModelDto] }) data!: ModelDto[];
}
