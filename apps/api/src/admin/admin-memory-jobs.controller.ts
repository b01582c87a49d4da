import { Authenticated, Page, PageOf, UuidParam } from '@app/common';
import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';

import { AdminMemoryJobDto, AdminMemoryJobsQueryDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/memory-jobs')
export class AdminMemoryJobsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOkResponse({ type: PageOf(AdminMemoryJobDto), description: 'Newest first' })
  @ApiBadRequestResponse({ description: 'Unknown status, malformed user_id or paging' })
  list(@Query() query: AdminMemoryJobsQueryDto): Promise<Page<AdminMemoryJobDto>> {
    return this.admin.listMemoryJobs(
      { status: query.status, userId: query.user_id },
      query.limit,
      query.offset,
    );
  }

  @Post(':job_id/retry')
  @HttpCode(200)
  @ApiOkResponse({ type: AdminMemoryJobDto, description: 'The job, pending again with 0 attempts' })
  @ApiNotFoundResponse({ description: 'No such job' })
  @ApiConflictResponse({ description: 'The job is not failed' })
  retry(@UuidParam('job_id') jobId: string): Promise<AdminMemoryJobDto> {
    return this.admin.retryMemoryJob(jobId);
  }
}
