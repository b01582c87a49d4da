import { Page } from '@app/common';
import { Injectable } from '@nestjs/common';

import { UserDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { AdminUserDto } from './admin.dto';

@Injectable()
export class AdminService {
  constructor(private readonly users: UsersService) {}

  async listUsers(limit: number, offset: number): Promise<Page<AdminUserDto>> {
    const [users, total] = await this.users.findPage(limit, offset);
    // Sessions and messages arrive with the chat module; until then every user has none.
    const items = users.map((u) => ({ ...UserDto.from(u), session_count: 0, message_count: 0 }));
    return { items, total, limit, offset };
  }
}
