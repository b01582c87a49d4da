import { ApiErrors, Authenticated, AuthenticatedUser, AuthUser, ErrorCode } from '@app/common';
import { Body, Controller, Delete, Get, Header, HttpCode, Ip, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  @ApiOperation({
    operationId: 'exportAccount',
    summary: 'Download everything stored about the caller',
  })
  @ApiOkResponse({ type: AccountExportDto, description: 'An attachment (Content-Disposition)' })
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
  @ApiOperation({
    operationId: 'deleteAccount',
    summary: "Delete the caller's account and everything stored about them",
    description: 'The password is asked again; a wrong one deletes nothing.',
  })
  @ApiNoContentResponse({ description: 'The account and everything stored about it is deleted' })
  @ApiErrors(
    ErrorCode.InvalidCredentials,
    ErrorCode.LastAdmin,
    ErrorCode.TooManyFailedLogins,
    ErrorCode.RateLimitUnavailable,
  )
  async delete(
    @AuthUser() caller: AuthenticatedUser,
    @Body() dto: DeleteAccountDto,
    @Ip() address: string,
  ): Promise<void> {
    await this.account.deleteOwnAccount(caller, dto.password, address);
  }
}
