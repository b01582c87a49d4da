import { Public } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { APP_NAME, APP_VERSION } from '../app-info';

export class AppInfoDto {
  @ApiProperty({ example: APP_NAME }) name!: string;
  @ApiProperty({ example: APP_VERSION }) version!: string;
  @ApiProperty({ example: '/docs', description: 'Where the API document is served' })
  docs!: string;
}

@ApiTags('system')
@Public()
@Controller()
export class SystemController {
  @Get()
  @ApiOperation({ operationId: 'getAppInfo', summary: 'Name, version and where the API docs are' })
  @ApiOkResponse({ type: AppInfoDto, description: 'What this server is' })
  root(): AppInfoDto {
    return { name: APP_NAME, version: APP_VERSION, docs: '/docs' };
  }
}
