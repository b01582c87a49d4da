import { Authenticated, PaginationQueryDto } from '@app/common';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';

import { AdminUserPageDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query() page: PaginationQueryDto): Promise<AdminUserPageDto> {
    return this.admin.listUsers(page.limit, page.offset);
  }
}
