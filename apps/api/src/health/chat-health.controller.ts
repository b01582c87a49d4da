import { LlmClient } from '@app/ai';
import { Public } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { MemoryStoreHealthIndicator } from './memory-store.health';

const REACHABILITY_TTL_MS = 30_000;

class ModelHealthDto {
  @ApiProperty() configured!: boolean;
  @ApiProperty({ description: 'Answered a cheap request recently (checked at most every 30 s)' })
  reachable!: boolean;
  @ApiProperty() model!: string;
}

class MemoryStoreHealthDto {
  @ApiProperty() configured!: boolean;
  @ApiProperty() up!: boolean;
}

export class ChatHealthDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'not_configured'] }) status!: string;
  @ApiProperty({ type: ModelHealthDto }) model!: ModelHealthDto;
  @ApiProperty({ type: MemoryStoreHealthDto }) memory_store!: MemoryStoreHealthDto;
}

/** Whether chatting works right now: a model is configured and reachable, and memory is up. */
@ApiTags('system')
@Public()
@Controller('api/v1/health')
export class ChatHealthController {
  private reachability?: { at: number; reachable: Promise<boolean> };

  constructor(
    private readonly llm: LlmClient,
    private readonly memoryStore: MemoryStoreHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'getChatHealth',
    summary: 'Whether chatting works now: a model configured and reachable, memory up',
  })
  @ApiOkResponse({ type: ChatHealthDto, description: 'Always 200; `status` says how it is' })
  async check(): Promise<ChatHealthDto> {
    const [reachable, memoryUp] = await Promise.all([
      this.modelReachable(),
      this.memoryStore.isUp(),
    ]);
    const configured = this.llm.configured;
    return {
      status: !configured ? 'not_configured' : reachable && memoryUp ? 'ok' : 'degraded',
      model: { configured, reachable, model: this.llm.modelName },
      memory_store: { configured: this.memoryStore.configured, up: memoryUp },
    };
  }

  /** Cached so that a health poller cannot turn into a stream of upstream requests. */
  private modelReachable(): Promise<boolean> {
    const now = Date.now();
    if (!this.reachability || now - this.reachability.at > REACHABILITY_TTL_MS) {
      this.reachability = { at: now, reachable: this.llm.ping() };
    }
    return this.reachability.reachable;
  }
}
