import { ApiKey } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export const MAX_API_KEY_NAME_LENGTH = 100;
/** Ten years: a longer expiry is no expiry; leave the field out for that. */
export const MAX_API_KEY_DAYS = 3650;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

export class CreateApiKeyDto {
  @ApiProperty({
    minLength: 1,
    maxLength: MAX_API_KEY_NAME_LENGTH,
    example: 'My editor',
    description: 'For you to recognise the key; trimmed',
  })
  @Transform(trim)
  @IsString()
  @Length(1, MAX_API_KEY_NAME_LENGTH, {
    message: `name must be 1-${MAX_API_KEY_NAME_LENGTH} characters`,
  })
  name!: string;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: MAX_API_KEY_DAYS,
    example: 90,
    description: 'The key stops working this many days from now; absent or null: never',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_API_KEY_DAYS)
  expires_in_days?: number | null;
}

/** A key as lists show it: never the key itself, nor its hash. */
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'cbk_Xq3vP0aZ', description: 'The first characters of the key' })
  prefix!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Last accepted use, at most about a minute behind; null when never used',
  })
  last_used_at!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'null: never expires',
  })
  expires_at!: string | null;

  static from(key: ApiKey): ApiKeyDto {
    return {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      created_at: key.createdAt.toISOString(),
      last_used_at: key.lastUsedAt?.toISOString() ?? null,
      expires_at: key.expiresAt?.toISOString() ?? null,
    };
  }
}

/** The answer to a creation: the only time the key itself is shown. */
export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    example: 'cbk_Xq3vP0aZ…',
    description: 'The key: shown this once, never stored. Send it as `Authorization: Bearer <key>`',
  })
  key!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Newest first' }) items!: ApiKeyDto[];
}
