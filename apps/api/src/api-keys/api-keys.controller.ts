import {
  ApiErrors,
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  ErrorCode,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

/**
 * The caller's personal API keys. Managed with a login token only: the routes that take a key
 * (the OpenAI-compatible `/v1` ones) are marked `@Authenticated({ apiKeys: true })`, these are not.
 */
@ApiTags('auth')
@Authenticated()
@Controller('api/v1/auth/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  // The key is in the body: no cache may keep it.
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Make a personal API key for the OpenAI-compatible routes; the key is shown once',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The new key, shown only here' })
  @ApiErrors(ErrorCode.ApiKeyLimit, ErrorCode.AccountGone)
  async create(
    @AuthUser() caller: AuthenticatedUser,
    @Body() dto: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const { key, secret } = await this.keys.create(caller, {
      name: dto.name,
      expiresInDays: dto.expires_in_days,
    });
    return { ...ApiKeyDto.from(key), key: secret };
  }

  @Get()
  @ApiOperation({ operationId: 'listApiKeys', summary: 'Your API keys, newest first' })
  @ApiOkResponse({ type: ApiKeyListDto, description: 'Never the keys themselves' })
  async list(@AuthUser() caller: AuthenticatedUser): Promise<ApiKeyListDto> {
    return { items: (await this.keys.list(caller.id)).map((key) => ApiKeyDto.from(key)) };
  }

  @Delete(':key_id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke one of your API keys' })
  @ApiNoContentResponse({ description: 'The key is refused from now on' })
  @ApiErrors(ErrorCode.ApiKeyNotFound)
  async revoke(
    @AuthUser() caller: AuthenticatedUser,
    @UuidParam('key_id') keyId: string,
  ): Promise<void> {
    await this.keys.revoke(caller.id, keyId);
  }
}
