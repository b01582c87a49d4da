import {
  Authenticated,
  Page,
  PageOf,
  PaginationQueryDto,
  SelfUserId,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { CreateSessionDto, MessageDto, RenameSessionDto, SessionDto } from './dto/session.dto';
import { RateLimit } from '../throttling/rate-limit.decorators';
import { SessionsService } from './sessions.service';

const SessionId = () => UuidParam('session_id', { version: '4' });

@ApiTags('sessions')
@Authenticated()
@ApiParam({ name: 'user_id', format: 'uuid', description: "The caller's own id" })
@ApiForbiddenResponse({ description: "user_id is not the caller's id" })
@Controller('api/v1/chat/:user_id/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOkResponse({ type: PageOf(SessionDto), description: 'Newest activity first' })
  list(@SelfUserId() userId: string, @Query() page: PaginationQueryDto): Promise<Page<SessionDto>> {
    return this.sessions.listForUser(userId, page.limit, page.offset);
  }

  @Post()
  @RateLimit('sessions')
  @ApiCreatedResponse({ type: SessionDto })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  async create(@SelfUserId() userId: string, @Body() dto: CreateSessionDto): Promise<SessionDto> {
    return SessionDto.from(await this.sessions.createForUser(userId, dto.title), 0);
  }

  @Get(':session_id')
  @ApiOkResponse({ type: SessionDto })
  @ApiNotFoundResponse({ description: 'No such session of the caller' })
  show(@SelfUserId() userId: string, @SessionId() sessionId: string): Promise<SessionDto> {
    return this.sessions.showForUser(userId, sessionId);
  }

  @Patch(':session_id')
  @ApiOkResponse({ type: SessionDto, description: 'Renamed; counts as activity' })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  @ApiNotFoundResponse({ description: 'No such session of the caller' })
  rename(
    @SelfUserId() userId: string,
    @SessionId() sessionId: string,
    @Body() dto: RenameSessionDto,
  ): Promise<SessionDto> {
    return this.sessions.renameForUser(userId, sessionId, dto.title);
  }

  @Delete(':session_id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its messages; memories stay' })
  @ApiNotFoundResponse({ description: 'No such session of the caller' })
  async remove(@SelfUserId() userId: string, @SessionId() sessionId: string): Promise<void> {
    await this.sessions.deleteForUser(userId, sessionId);
  }

  @Get(':session_id/messages')
  @ApiOkResponse({ type: PageOf(MessageDto), description: 'Oldest first' })
  @ApiNotFoundResponse({ description: 'No such session of the caller' })
  messages(
    @SelfUserId() userId: string,
    @SessionId() sessionId: string,
    @Query() page: PaginationQueryDto,
  ): Promise<Page<MessageDto>> {
    return this.sessions.messagesForUser(userId, sessionId, page.limit, page.offset);
  }
}
