import { Authenticated, DomainError, SelfUserId } from '@app/common';
import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiParam,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
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
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatResponseDto, description: 'JSON, or SSE delta/done/error events' })
  @ApiNotFoundResponse({ description: 'session_id is unknown or not yours' })
  @ApiBadGatewayResponse({ description: 'The model failed; your message is kept' })
  @ApiGatewayTimeoutResponse({ description: 'The model did not answer in time' })
  @ApiServiceUnavailableResponse({ description: 'No model configured' })
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
