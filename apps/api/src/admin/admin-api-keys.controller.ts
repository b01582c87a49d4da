import { ApiErrors, Authenticated, ErrorCode, UuidParam } from '@app/common';
import { Controller, Delete, Get, HttpCode } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiKeysService } from '../api-keys/api-keys.service';
import { ApiKeyDto, ApiKeyListDto } from '../api-keys/dto/api-key.dto';

/** A user's personal API keys, as an admin sees them: listed, and revoked one by one. */
@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users/:user_id/api-keys')
export class AdminApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get()
  @ApiOperation({ operationId: 'adminListApiKeys', summary: "A user's API keys, newest first" })
  @ApiOkResponse({ type: ApiKeyListDto, description: 'Never the keys themselves' })
  @ApiErrors(ErrorCode.UserNotFound)
  async list(@UuidParam('user_id') userId: string): Promise<ApiKeyListDto> {
    return { items: (await this.keys.listOfUser(userId)).map((key) => ApiKeyDto.from(key)) };
  }

  @Delete(':key_id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'adminRevokeApiKey', summary: "Revoke one of a user's API keys" })
  @ApiNoContentResponse({ description: 'The key is refused from now on' })
  @ApiErrors(ErrorCode.ApiKeyNotFound)
  async revoke(
    // user_id first: a malformed one is answered before key_id is looked at.
    @UuidParam('user_id') userId: string,
    @UuidParam('key_id') keyId: string,
  ): Promise<void> {
    await this.keys.revoke(userId, keyId);
  }
}
