import { Authenticated, AuthenticatedUser, AuthUser, PaginationQueryDto } from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';

import {
  MemoryDto,
  MemoryHistoryDto,
  MemoryJobListDto,
  MemoryPageDto,
  MemorySearchResultsDto,
  MemorySummaryDto,
  SearchMemoriesDto,
  UpdateMemoryDto,
} from './dto/memory.dto';
import { RateLimit } from '../throttling/rate-limit.decorators';
import { MemoryService } from './memory.service';

const MEMORY_ID = { name: 'id', format: 'uuid', description: 'One of your memories' };
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
  @ApiOkResponse({ type: MemoryPageDto })
  list(
    @AuthUser() user: AuthenticatedUser,
    @Query() page: PaginationQueryDto,
  ): Promise<MemoryPageDto> {
    return this.memories.listForUser(user.id, page.limit, page.offset);
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Every memory of yours is gone' })
  async removeAll(@AuthUser() user: AuthenticatedUser): Promise<void> {
    await this.memories.deleteAllForUser(user.id);
  }

  @Get(':id')
  @ApiParam(MEMORY_ID)
  @ApiOkResponse({ type: MemoryDto })
  @ApiNotFoundResponse(NOT_FOUND)
  show(@AuthUser() user: AuthenticatedUser, @Param('id') id: string): Promise<MemoryDto> {
    return this.memories.getForUser(user.id, id);
  }

  @Put(':id')
  @RateLimit('memory')
  @ApiParam(MEMORY_ID)
  @ApiOkResponse({ type: MemoryDto })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  @ApiNotFoundResponse(NOT_FOUND)
  update(
    @AuthUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() dto: UpdateMemoryDto,
  ): Promise<MemoryDto> {
    return this.memories.updateForUser(user.id, id, dto.memory);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam(MEMORY_ID)
  @ApiNoContentResponse({ description: 'The memory is gone' })
  @ApiNotFoundResponse(NOT_FOUND)
  async remove(@AuthUser() user: AuthenticatedUser, @Param('id') id: string): Promise<void> {
    await this.memories.deleteForUser(user.id, id);
  }

  @Get(':id/history')
  @ApiParam(MEMORY_ID)
  @ApiOkResponse({ type: MemoryHistoryDto })
  @ApiNotFoundResponse(NOT_FOUND)
  history(@AuthUser() user: AuthenticatedUser, @Param('id') id: string): Promise<MemoryHistoryDto> {
    return this.memories.historyForUser(user.id, id);
  }
}
