import { Authenticated, Page, PageOf } from '@app/common';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AdminSessionDto, AdminSessionsQueryDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/sessions')
export class AdminSessionsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({
    operationId: 'adminListSessions',
    summary: 'List the sessions of every user, or of one',
  })
  @ApiOkResponse({ type: PageOf(AdminSessionDto), description: 'Newest activity first' })
  list(@Query() query: AdminSessionsQueryDto): Promise<Page<AdminSessionDto>> {
    return this.admin.listSessions({ userId: query.user_id }, query.limit, query.offset);
  }
}
