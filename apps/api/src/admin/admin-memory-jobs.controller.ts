import { Authenticated } from '@app/common';
import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { AdminMemoryJobsQueryDto, MemoryJobDto, MemoryJobPageDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/memory-jobs')
export class AdminMemoryJobsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOkResponse({ type: MemoryJobPageDto, description: 'Newest first' })
  @ApiBadRequestResponse({ description: 'Unknown status, malformed user_id or paging' })
  list(@Query() query: AdminMemoryJobsQueryDto): Promise<MemoryJobPageDto> {
    return this.admin.listMemoryJobs(
      { status: query.status, userId: query.user_id },
      query.limit,
      query.offset,
    );
  }

  @Post(':job_id/retry')
  @HttpCode(200)
  @ApiParam({ name: 'job_id', format: 'uuid' })
  @ApiOkResponse({ type: MemoryJobDto, description: 'The job, pending again with 0 attempts' })
  @ApiNotFoundResponse({ description: 'No such job' })
  @ApiConflictResponse({ description: 'The job is not failed' })
  retry(
    @Param(
      'job_id',
      new ParseUUIDPipe({
        exceptionFactory: () => new BadRequestException('job_id must be a UUID'),
      }),
    )
    jobId: string,
  ): Promise<MemoryJobDto> {
    return this.admin.retryMemoryJob(jobId);
  }
}
