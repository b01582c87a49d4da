import { IsCanonicalUuid, PaginationQueryDto } from '@app/common';
import {
  MEMORY_JOB_STATUSES,
  MemoryJob,
  type MemoryJobStatus,
  ROLES,
  type Role,
  User,
} from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, ValidateIf } from 'class-validator';

import { SessionDto } from '../sessions/dto/session.dto';
import { UserDto } from '../users/dto/user.dto';

/** A field that may be left out, but not sent as null. */
const IsOmittable = () => ValidateIf((_object, value) => value !== undefined);

export class AdminUserDto extends UserDto {
  @ApiProperty() disabled!: boolean;
  @ApiProperty() session_count!: number;
  @ApiProperty() message_count!: number;

  static fromUser(
    user: User,
    counts: { sessionCount: number; messageCount: number } | undefined,
  ): AdminUserDto {
    return {
      ...UserDto.from(user),
      disabled: user.disabled,
      session_count: counts?.sessionCount ?? 0,
      message_count: counts?.messageCount ?? 0,
    };
  }
}

/** At least one field; the service answers 400 for an empty body. */
export class UpdateUserByAdminDto {
  @ApiPropertyOptional({ enum: ROLES, description: 'A changed role needs a new login' })
  @IsOmittable()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ description: "true refuses the user's login and tokens at once" })
  @IsOmittable()
  @IsBoolean()
  disabled?: boolean;
}

export class AdminSessionsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this user's sessions" })
  @IsOptional()
  @IsCanonicalUuid()
  user_id?: string;
}

export class SessionOwnerDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() username!: string;
}

export class AdminSessionDto extends SessionDto {
  @ApiProperty({ type: SessionOwnerDto }) owner!: SessionOwnerDto;
}

export class AdminMemoryJobsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: MEMORY_JOB_STATUSES })
  @IsOptional()
  @IsIn(MEMORY_JOB_STATUSES)
  status?: MemoryJobStatus;

  @ApiPropertyOptional({ format: 'uuid', description: "Only this user's jobs" })
  @IsOptional()
  @IsCanonicalUuid()
  user_id?: string;
}

/** One turn's memory extraction, as an admin sees it. */
export class AdminMemoryJobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ format: 'uuid' }) session_id!: string;
  @ApiProperty({ format: 'uuid', description: "The turn's user message" }) message_id!: string;
  @ApiProperty({ enum: MEMORY_JOB_STATUSES }) status!: MemoryJobStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: String, nullable: true }) last_error!: string | null;
  @ApiProperty({ format: 'date-time', description: 'When it is due (pending)' }) run_at!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;

  static from(job: MemoryJob): AdminMemoryJobDto {
    return {
      id: job.id,
      user_id: job.userId,
      session_id: job.sessionId,
      message_id: job.messageId,
      status: job.status,
      attempts: job.attempts,
      last_error: job.lastError,
      run_at: job.runAt.toISOString(),
      created_at: job.createdAt.toISOString(),
      updated_at: job.updatedAt.toISOString(),
    };
  }
}
