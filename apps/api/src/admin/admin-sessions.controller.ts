import { Authenticated, Page, PageOf } from '@app/common';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { AdminSessionDto, AdminSessionsQueryDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/sessions')
export class AdminSessionsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOkResponse({ type: PageOf(AdminSessionDto), description: 'Newest activity first' })
  @ApiBadRequestResponse({ description: 'Malformed user_id or paging' })
  list(@Query() query: AdminSessionsQueryDto): Promise<Page<AdminSessionDto>> {
    return this.admin.listSessions({ userId: query.user_id }, query.limit, query.offset);
  }
}
