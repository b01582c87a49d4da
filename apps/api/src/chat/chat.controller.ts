import { ApiErrors, Authenticated, DomainError, ErrorCode, SelfUserId } from '@app/common';
import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import accepts from 'accepts';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { RateLimit } from '../throttling/rate-limit.decorators';
import { ChatService } from './chat.service';
import { ChatRequestDto, ChatResponseDto } from './dto/chat.dto';
import { writeTurnAsSse } from './sse';

@ApiTags('chat')
@ApiParam({ name: 'user_id', format: 'uuid', description: 'Your own user id (403 otherwise)' })
@Authenticated()
@Controller('api/v1/chat')
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Post(':user_id')
  @HttpCode(200)
  @RateLimit('chat')
  @ApiOperation({
    operationId: 'chat',
    summary: 'Send a message; get the answer as JSON or Server-Sent Events',
    description:
      'Without session_id a new session is started. With `stream: true` (or `Accept: ' +
      'text/event-stream`) the answer is `delta` events, then `done` with the JSON answer; a ' +
      'failure after the stream started ends it with an `error` event. A failed model call ' +
      'keeps your message in the session.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatResponseDto, description: 'JSON, or SSE delta/done/error events' })
  @ApiErrors(
    ErrorCode.SessionNotFound,
    ErrorCode.AccountGone,
    ErrorCode.ModelFailed,
    ErrorCode.ModelTimeout,
    ErrorCode.ModelNotConfigured,
  )
  async send(
    @SelfUserId() userId: string,
    @Body() request: ChatRequestDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatResponseDto | void> {
    // The negotiation Express's req.accepts() did, with the same library.
    const wantsStream =
      request.stream ??
      accepts(req.raw).type(['application/json', 'text/event-stream']) === 'text/event-stream';
    if (!wantsStream) return this.chat.turn(userId, request);
    const clientGone = new AbortController();
    reply.raw.on('close', () => clientGone.abort());
    const turn = await this.chat.streamTurn(userId, request, clientGone.signal).catch((error) => {
      if (clientGone.signal.aborted) return null; // gone before the first token: nobody to answer
      throw error;
    });
    if (!turn) return;
    await writeTurnAsSse(reply, turn, clientGone.signal, (error) =>
      error instanceof DomainError ? error.message : 'The answer was interrupted; try again',
    );
  }
}
