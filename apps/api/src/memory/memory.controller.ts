import {
  ApiErrors,
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  ErrorCode,
  Page,
  PageOf,
  PaginationQueryDto,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { RateLimit } from '../throttling/rate-limit.decorators';
import {
  MemoryDto,
  MemoryHistoryDto,
  MemoryJobListDto,
  MemorySearchResultsDto,
  MemorySummaryDto,
  SearchMemoriesDto,
  UpdateMemoryDto,
} from './dto/memory.dto';
import { MemoryService } from './memory.service';

/** A malformed id is answered like an unknown one: the same 404, whoever asks. */
const MemoryId = () =>
  UuidParam('id', { description: 'One of your memories', keepMalformed: true });
/** Every call that reaches the memory store, which embeds with the model's API. */
const StoreErrors = () =>
  ApiErrors(ErrorCode.ModelNotConfigured, ErrorCode.MemoryStoreUnavailable, ErrorCode.ModelFailed);

/** Always the caller's own memories: the user id comes from the verified token, never the client. */
@ApiTags('memories')
@Authenticated()
@Controller('api/v1/memories')
export class MemoryController {
  constructor(private readonly memories: MemoryService) {}

  @Post('search')
  @HttpCode(200)
  @RateLimit('memory')
  @ApiOperation({ operationId: 'searchMemories', summary: 'Search your memories by meaning' })
  @ApiOkResponse({ type: MemorySearchResultsDto, description: 'Most relevant first' })
  @StoreErrors()
  search(
    @AuthUser() user: AuthenticatedUser,
    @Body() dto: SearchMemoriesDto,
  ): Promise<MemorySearchResultsDto> {
    return this.memories.searchForUser(user.id, dto.query, dto.limit);
  }

  @Get('summary')
  @RateLimit('memory')
  @ApiOperation({
    operationId: 'getMemorySummary',
    summary: 'A summary of what is remembered about you, written by the model',
  })
  @ApiOkResponse({ type: MemorySummaryDto, description: 'Empty when nothing is remembered' })
  @StoreErrors()
  @ApiErrors(ErrorCode.ModelTimeout)
  summary(@AuthUser() user: AuthenticatedUser): Promise<MemorySummaryDto> {
    return this.memories.summaryForUser(user.id);
  }

  @Get('jobs')
  @ApiOperation({
    operationId: 'listMemoryJobs',
    summary: 'Your memory extractions that are pending, running or failed',
  })
  @ApiOkResponse({ type: MemoryJobListDto, description: 'Pending, running and failed extractions' })
  jobs(@AuthUser() user: AuthenticatedUser): Promise<MemoryJobListDto> {
    return this.memories.jobsForUser(user.id);
  }

  @Get()
  @ApiOperation({ operationId: 'listMemories', summary: 'Your memories, newest first' })
  @ApiOkResponse({ type: PageOf(MemoryDto), description: 'Newest first' })
  @StoreErrors()
  list(
    @AuthUser() user: AuthenticatedUser,
    @Query() page: PaginationQueryDto,
  ): Promise<Page<MemoryDto>> {
    return this.memories.listForUser(user.id, page.limit, page.offset);
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteAllMemories', summary: 'Forget everything about you' })
  @ApiNoContentResponse({ description: 'Every memory of yours is gone' })
  @StoreErrors()
  async removeAll(@AuthUser() user: AuthenticatedUser): Promise<void> {
    await this.memories.deleteAllForUser(user.id);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getMemory', summary: 'One of your memories' })
  @ApiOkResponse({ type: MemoryDto, description: 'The memory' })
  @StoreErrors()
  @ApiErrors(ErrorCode.MemoryNotFound)
  show(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<MemoryDto> {
    return this.memories.getForUser(user.id, id);
  }

  @Put(':id')
  @RateLimit('memory')
  @ApiOperation({ operationId: 'updateMemory', summary: 'Rewrite one of your memories' })
  @ApiOkResponse({ type: MemoryDto, description: 'The memory as it is now' })
  @StoreErrors()
  @ApiErrors(ErrorCode.MemoryNotFound)
  update(
    @AuthUser() user: AuthenticatedUser,
    @MemoryId() id: string,
    @Body() dto: UpdateMemoryDto,
  ): Promise<MemoryDto> {
    return this.memories.updateForUser(user.id, id, dto.memory);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteMemory', summary: 'Forget one of your memories' })
  @ApiNoContentResponse({ description: 'The memory and its history are gone' })
  @StoreErrors()
  @ApiErrors(ErrorCode.MemoryNotFound)
  async remove(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<void> {
    await this.memories.deleteForUser(user.id, id);
  }

  @Get(':id/history')
  @ApiOperation({ operationId: 'getMemoryHistory', summary: 'How one of your memories changed' })
  @ApiOkResponse({ type: MemoryHistoryDto, description: 'Oldest first' })
  @StoreErrors()
  @ApiErrors(ErrorCode.MemoryNotFound)
  history(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<MemoryHistoryDto> {
    return this.memories.historyForUser(user.id, id);
  }
}
