import { ApiErrors, Authenticated, ErrorCode, Page, PageOf, UuidParam } from '@app/common';
import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AdminMemoryJobDto, AdminMemoryJobsQueryDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/memory-jobs')
export class AdminMemoryJobsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({
    operationId: 'adminListMemoryJobs',
    summary: 'List memory extraction jobs, by status or user',
  })
  @ApiOkResponse({ type: PageOf(AdminMemoryJobDto), description: 'Newest first' })
  list(@Query() query: AdminMemoryJobsQueryDto): Promise<Page<AdminMemoryJobDto>> {
    return this.admin.listMemoryJobs(
      { status: query.status, userId: query.user_id },
      query.limit,
      query.offset,
    );
  }

  @Post(':job_id/retry')
  @HttpCode(200)
  @ApiOperation({ operationId: 'adminRetryMemoryJob', summary: 'Run a failed memory job again' })
  @ApiOkResponse({ type: AdminMemoryJobDto, description: 'The job, pending again with 0 attempts' })
  @ApiErrors(ErrorCode.JobNotFound, ErrorCode.JobNotFailed)
  retry(@UuidParam('job_id') jobId: string): Promise<AdminMemoryJobDto> {
    return this.admin.retryMemoryJob(jobId);
  }
}
