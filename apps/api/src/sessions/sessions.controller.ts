import {
  ApiErrors,
  Authenticated,
  ErrorCode,
  Page,
  PageOf,
  PaginationQueryDto,
  SelfUserId,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
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
@Controller('api/v1/chat/:user_id/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({ operationId: 'listSessions', summary: 'Your sessions, newest activity first' })
  @ApiOkResponse({ type: PageOf(SessionDto), description: 'Newest activity first' })
  list(@SelfUserId() userId: string, @Query() page: PaginationQueryDto): Promise<Page<SessionDto>> {
    return this.sessions.listForUser(userId, page.limit, page.offset);
  }

  @Post()
  @RateLimit('sessions')
  @ApiOperation({ operationId: 'createSession', summary: 'Start a session without a message' })
  @ApiCreatedResponse({ type: SessionDto, description: 'The new, empty session' })
  @ApiErrors(ErrorCode.AccountGone)
  async create(@SelfUserId() userId: string, @Body() dto: CreateSessionDto): Promise<SessionDto> {
    return SessionDto.from(await this.sessions.createForUser(userId, dto.title), 0);
  }

  @Get(':session_id')
  @ApiOperation({ operationId: 'getSession', summary: 'One of your sessions' })
  @ApiOkResponse({ type: SessionDto, description: 'The session' })
  @ApiErrors(ErrorCode.SessionNotFound)
  show(@SelfUserId() userId: string, @SessionId() sessionId: string): Promise<SessionDto> {
    return this.sessions.showForUser(userId, sessionId);
  }

  @Patch(':session_id')
  @ApiOperation({ operationId: 'renameSession', summary: 'Rename one of your sessions' })
  @ApiOkResponse({ type: SessionDto, description: 'Renamed; counts as activity' })
  @ApiErrors(ErrorCode.SessionNotFound)
  rename(
    @SelfUserId() userId: string,
    @SessionId() sessionId: string,
    @Body() dto: RenameSessionDto,
  ): Promise<SessionDto> {
    return this.sessions.renameForUser(userId, sessionId, dto.title);
  }

  @Delete(':session_id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteSession', summary: 'Delete a session and its messages' })
  @ApiNoContentResponse({ description: 'Deleted with its messages; memories stay' })
  @ApiErrors(ErrorCode.SessionNotFound)
  async remove(@SelfUserId() userId: string, @SessionId() sessionId: string): Promise<void> {
    await this.sessions.deleteForUser(userId, sessionId);
  }

  @Get(':session_id/messages')
  @ApiOperation({
    operationId: 'listSessionMessages',
    summary: 'The messages of one of your sessions, oldest first',
  })
  @ApiOkResponse({ type: PageOf(MessageDto), description: 'Oldest first' })
  @ApiErrors(ErrorCode.SessionNotFound)
  messages(
    @SelfUserId() userId: string,
    @SessionId() sessionId: string,
    @Query() page: PaginationQueryDto,
  ): Promise<Page<MessageDto>> {
    return this.sessions.messagesForUser(userId, sessionId, page.limit, page.offset);
  }
}
