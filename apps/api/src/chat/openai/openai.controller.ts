import { ApiErrors, Authenticated, AuthenticatedUser, AuthUser, ErrorCode } from '@app/common';
import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';

import { RateLimit } from '../../throttling/rate-limit.decorators';
import { CompletionsService } from './completions.service';
import { writeChunks } from './openai-sse';
import { parseCompletionRequest } from './openai-request';
import { ChatCompletionDto, ChatCompletionRequestDto, ModelListDto } from './openai.dto';

/** Who answers, in GET /v1/models. */
const OWNER = 'chatbot-memory';

/**
 * OpenAI's protocol, for the chat front ends and SDKs that speak it (docs/openai-compatible.md).
 * Errors come in OpenAI's shape (`{error: {message, type, param, code}}`) on every `/v1` path.
 * The only routes that take a personal API key (`Bearer cbk_…`) besides a login token.
 */
@ApiTags('openai')
@Authenticated({ apiKeys: true })
@Controller('v1')
export class OpenAiController {
  /** Unix seconds this process started: `created` of the model it lists. */
  private readonly started = Math.floor(Date.now() / 1000);

  constructor(private readonly completions: CompletionsService) {}

  @Get('models')
  @ApiOperation({
    operationId: 'listModels',
    summary: 'The model served (OpenAI protocol)',
    description: 'The bearer may be a personal API key (`cbk_…`) or a login token.',
  })
  @ApiOkResponse({ type: ModelListDto, description: 'One model: the configured chat model' })
  models(): ModelListDto {
    return {
      object: 'list',
      data: [
        { id: this.completions.modelId, object: 'model', created: this.started, owned_by: OWNER },
      ],
    };
  }

  @Post('chat/completions')
  @HttpCode(200)
  @RateLimit('chat')
  @ApiOperation({
    operationId: 'createChatCompletion',
    summary: 'A chat completion with memory (OpenAI protocol), JSON or streamed',
    description:
      'The bearer may be a personal API key (`cbk_…`) or a login token. ' +
      'Send the whole conversation as OpenAI clients do. Memories found with the latest user ' +
      'message are given to the model; that message and the reply are stored in a session ' +
      '(X-Session-Id, else X-OpenWebUI-Chat-Id or X-Conversation-Id, else one per API key and ' +
      "day) and learned from. `X-Memory: off`, a last message that is not the user's, or a " +
      'front end\'s "### Task:" prompt: answered without memory and not stored. The session is ' +
      'named in the X-Session-Id response header.',
  })
  @ApiBody({ type: ChatCompletionRequestDto })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ChatCompletionDto,
    description: 'JSON, or `chat.completion.chunk` events ending with `data: [DONE]`',
  })
  @ApiErrors(
    ErrorCode.ModelNotFound,
    ErrorCode.SessionNotFound,
    ErrorCode.AccountGone,
    ErrorCode.ModelFailed,
    ErrorCode.ModelTimeout,
    ErrorCode.ModelNotConfigured,
  )
  async create(
    @AuthUser() caller: AuthenticatedUser,
    @Body() body: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletionDto | void> {
    const request = await parseCompletionRequest(body);
    const base = {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      created: Math.floor(Date.now() / 1000),
      model: this.completions.modelId,
    };
    if (!request.stream) {
      const answer = await this.completions.complete(caller, request, req.headers);
      if (answer.sessionId) void reply.header('X-Session-Id', answer.sessionId);
      const { content, finishReason, usage } = answer.completion;
      return {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage: {
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          total_tokens: usage.promptTokens + usage.completionTokens,
        },
      };
    }
    const clientGone = new AbortController();
    reply.raw.on('close', () => clientGone.abort());
    const answer = await this.completions
      .stream(caller, request, req.headers, clientGone.signal)
      .catch((error) => {
        if (clientGone.signal.aborted) return null; // gone before the first token
        throw error;
      });
    if (!answer) return;
    if (answer.sessionId) void reply.header('X-Session-Id', answer.sessionId);
    const includeUsage = request.stream_options?.include_usage === true;
    await writeChunks(reply, answer, base, includeUsage, clientGone.signal);
  }
}
