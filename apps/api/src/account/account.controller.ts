import { Authenticated, AuthenticatedUser, AuthUser } from '@app/common';
import { Body, Controller, Delete, Get, Header, HttpCode, Ip, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { AccountService } from './account.service';
import { AccountExportDto, DeleteAccountDto, exportFileName } from './dto/account.dto';

/** The caller's own account: download everything, or delete it. (GET /me is AuthController's.) */
@ApiTags('auth')
@Authenticated()
@Controller('api/v1/auth/me')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Get('export')
  @Header('Cache-Control', 'no-store')
  async export(
    @AuthUser() caller: AuthenticatedUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AccountExportDto> {
    const bundle = await this.account.exportFor(caller);
    const name = exportFileName(caller, new Date(bundle.exported_at));
    void reply.header('Content-Disposition', `attachment; filename="${name}"`);
    return bundle;
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The account and everything stored about it is deleted' })
  @ApiUnauthorizedResponse({ description: 'Wrong password: nothing is deleted' })
  @ApiConflictResponse({ description: 'The last admin cannot delete themself' })
  @ApiTooManyRequestsResponse({ description: 'Too many wrong passwords; see Retry-After' })
  async delete(
    @AuthUser() caller: AuthenticatedUser,
    @Body() dto: DeleteAccountDto,
    @Ip() address: string,
  ): Promise<void> {
    await this.account.deleteOwnAccount(caller, dto.password, address);
  }
}
