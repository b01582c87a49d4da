import { LlmClient, NOT_CONFIGURED_MESSAGE, toDomainError } from '@app/ai';
import { DomainError, ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import OpenAI from 'openai';

import { UpstreamResponseDto } from './bench.dto';

/**
 * The upstream calls of a chat turn and nothing else: the embedding of the message (as mem0's
 * embedder asks for it: floats, the configured dimensions) and one chat completion through the
 * app's LlmClient. `npm run bench` compares turns with this to show what the rest of a turn costs.
 */
@Injectable()
export class BenchService {
  private readonly embeddings?: OpenAI;

  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmClient,
  ) {
    const { apiKey, baseUrl, timeoutMs } = config.openai;
    if (llm.configured) {
      this.embeddings = new OpenAI({
        apiKey: apiKey ?? 'not-needed',
        baseURL: baseUrl,
        timeout: timeoutMs,
      });
    }
  }

  async upstreamOnly(message: string): Promise<UpstreamResponseDto> {
    const dims = await this.embed(message);
    const completion = await this.llm.complete([
      { role: 'system', content: this.config.chat.systemPrompt },
      { role: 'user', content: message },
    ]);
    return { response: completion.content, embedding_dims: dims };
  }

  private async embed(text: string): Promise<number> {
    const client = this.embeddings;
    if (!client) throw new DomainError(ErrorCode.ModelNotConfigured, NOT_CONFIGURED_MESSAGE);
    const { embeddingModel, embeddingDims } = this.config.openai;
    try {
      const response = await client.embeddings.create({
        model: embeddingModel,
        input: text,
        encoding_format: 'float',
        dimensions: embeddingDims,
      });
      return response.data[0]?.embedding.length ?? 0;
    } catch (error) {
      throw toDomainError(error);
    }
  }
}
