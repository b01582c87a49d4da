import { Public } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';

import { APP_NAME, APP_VERSION } from '../app-info';

@ApiTags('system')
@Public()
@Controller()
export class SystemController {
  @Get()
  root(): { name: string; version: string; docs: string } {
    return { name: APP_NAME, version: APP_VERSION, docs: '/docs' };
  }
}
