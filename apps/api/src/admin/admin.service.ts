import { Page } from '@app/common';
import { Injectable } from '@nestjs/common';

import { SessionsService } from '../sessions/sessions.service';
import { UserDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { AdminUserDto } from './admin.dto';

@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  async listUsers(limit: number, offset: number): Promise<Page<AdminUserDto>> {
    const [users, total] = await this.users.findPage(limit, offset);
    const counts = await this.sessions.countsForUsers(users.map((u) => u.id));
    const items = users.map((u) => ({
      ...UserDto.from(u),
      session_count: counts.get(u.id)?.sessionCount ?? 0,
      message_count: counts.get(u.id)?.messageCount ?? 0,
    }));
    return { items, total, limit, offset };
  }
}
