import {
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  Page,
  PageOf,
  PaginationQueryDto,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';

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
const NOT_FOUND = { description: 'No such memory of yours (unknown, malformed or not yours)' };

/** Always the caller's own memories: the user id comes from the verified token, never the client. */
@ApiTags('memories')
@Authenticated()
@ApiServiceUnavailableResponse({ description: 'No model configured, or the memory store is down' })
@ApiBadGatewayResponse({ description: 'The embedding or model service failed' })
@Controller('api/v1/memories')
export class MemoryController {
  constructor(private readonly memories: MemoryService) {}

  @Post('search')
  @HttpCode(200)
  @RateLimit('memory')
  @ApiOkResponse({ type: MemorySearchResultsDto })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  search(
    @AuthUser() user: AuthenticatedUser,
    @Body() dto: SearchMemoriesDto,
  ): Promise<MemorySearchResultsDto> {
    return this.memories.searchForUser(user.id, dto.query, dto.limit);
  }

  @Get('summary')
  @RateLimit('memory')
  @ApiOkResponse({ type: MemorySummaryDto })
  summary(@AuthUser() user: AuthenticatedUser): Promise<MemorySummaryDto> {
    return this.memories.summaryForUser(user.id);
  }

  @Get('jobs')
  @ApiOkResponse({ type: MemoryJobListDto, description: 'Pending, running and failed extractions' })
  jobs(@AuthUser() user: AuthenticatedUser): Promise<MemoryJobListDto> {
    return this.memories.jobsForUser(user.id);
  }

  @Get()
  @ApiOkResponse({ type: PageOf(MemoryDto), description: 'Newest first' })
  list(
    @AuthUser() user: AuthenticatedUser,
    @Query() page: PaginationQueryDto,
  ): Promise<Page<MemoryDto>> {
    return this.memories.listForUser(user.id, page.limit, page.offset);
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Every memory of yours is gone' })
  async removeAll(@AuthUser() user: AuthenticatedUser): Promise<void> {
    await this.memories.deleteAllForUser(user.id);
  }

  @Get(':id')
  @ApiOkResponse({ type: MemoryDto })
  @ApiNotFoundResponse(NOT_FOUND)
  show(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<MemoryDto> {
    return this.memories.getForUser(user.id, id);
  }

  @Put(':id')
  @RateLimit('memory')
  @ApiOkResponse({ type: MemoryDto })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  @ApiNotFoundResponse(NOT_FOUND)
  update(
    @AuthUser() user: AuthenticatedUser,
    @MemoryId() id: string,
    @Body() dto: UpdateMemoryDto,
  ): Promise<MemoryDto> {
    return this.memories.updateForUser(user.id, id, dto.memory);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The memory is gone' })
  @ApiNotFoundResponse(NOT_FOUND)
  async remove(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<void> {
    await this.memories.deleteForUser(user.id, id);
  }

  @Get(':id/history')
  @ApiOkResponse({ type: MemoryHistoryDto })
  @ApiNotFoundResponse(NOT_FOUND)
  history(@AuthUser() user: AuthenticatedUser, @MemoryId() id: string): Promise<MemoryHistoryDto> {
    return this.memories.historyForUser(user.id, id);
  }
}
