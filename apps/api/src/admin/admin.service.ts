import { AuthenticatedUser, DomainError, ErrorCode, Page } from '@app/common';
import { MemoryJobStatus } from '@app/database';
import { MemoryJobsService } from '@app/memory-jobs';
import { Injectable } from '@nestjs/common';

import { SessionDto } from '../sessions/dto/session.dto';
import { SessionsService } from '../sessions/sessions.service';
import { AccessChanges, UsersService } from '../users/users.service';
import { AdminMemoryJobDto, AdminSessionDto, AdminUserDto } from './admin.dto';

@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly memoryJobs: MemoryJobsService,
  ) {}

  async listUsers(limit: number, offset: number): Promise<Page<AdminUserDto>> {
    const [users, total] = await this.users.findPage(limit, offset);
    const counts = await this.sessions.countsForUsers(users.map((u) => u.id));
    const items = users.map((u) => AdminUserDto.fromUser(u, counts.get(u.id)));
    return { items, total, limit, offset };
  }

  /** An admin may not lock themself out: the last admin could otherwise leave none. */
  async updateUser(
    caller: AuthenticatedUser,
    userId: string,
    changes: AccessChanges,
  ): Promise<AdminUserDto> {
    if (changes.role === undefined && changes.disabled === undefined) {
      throw new DomainError(ErrorCode.ValidationFailed, 'Give at least one of role, disabled');
    }
    if (userId === caller.id && (changes.disabled === true || changes.role === 'user')) {
      throw new DomainError(ErrorCode.CannotChangeSelf, 'You cannot disable or demote yourself');
    }
    const user = await this.users.updateAccess(userId, changes);
    const counts = await this.sessions.countsForUsers([user.id]);
    return AdminUserDto.fromUser(user, counts.get(user.id));
  }

  async listSessions(
    filter: { userId?: string },
    limit: number,
    offset: number,
  ): Promise<Page<AdminSessionDto>> {
    const { items, total } = await this.sessions.listAll(filter, limit, offset);
    return {
      items: items.map(({ session, messageCount }) => ({
        ...SessionDto.from(session, messageCount),
        owner: { id: session.userId, username: session.user?.username ?? '' },
      })),
      total,
      limit,
      offset,
    };
  }

  async listMemoryJobs(
    filter: { status?: MemoryJobStatus; userId?: string },
    limit: number,
    offset: number,
  ): Promise<Page<AdminMemoryJobDto>> {
    const [jobs, total] = await this.memoryJobs.findPage(filter, limit, offset);
    return { items: jobs.map((j) => AdminMemoryJobDto.from(j)), total, limit, offset };
  }

  /** A failed job runs again from scratch: pending now, with a fresh set of attempts. */
  async retryMemoryJob(jobId: string): Promise<AdminMemoryJobDto> {
    const retry = await this.memoryJobs.retry(jobId);
    if (retry.outcome === 'not_found') {
      throw new DomainError(ErrorCode.JobNotFound, 'Memory job not found');
    }
    if (retry.outcome === 'not_failed') {
      throw new DomainError(ErrorCode.JobNotFailed, 'Only a failed memory job can be retried');
    }
    return AdminMemoryJobDto.from(retry.job);
  }
}
