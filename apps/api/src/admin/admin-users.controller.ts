import {
  ApiErrors,
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  ErrorCode,
  Page,
  PageOf,
  PaginationQueryDto,
  UuidParam,
} from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Patch, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AccountService } from '../account/account.service';
import { AdminUserDto, UpdateUserByAdminDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUsersController {
  constructor(
    private readonly admin: AdminService,
    private readonly account: AccountService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'adminListUsers',
    summary: 'List users with their session and message counts',
  })
  @ApiOkResponse({ type: PageOf(AdminUserDto), description: 'Newest first' })
  list(@Query() page: PaginationQueryDto): Promise<Page<AdminUserDto>> {
    return this.admin.listUsers(page.limit, page.offset);
  }

  @Patch(':user_id')
  @ApiOperation({
    operationId: 'adminUpdateUser',
    summary: "Change a user's role or disable them",
  })
  @ApiOkResponse({
    type: AdminUserDto,
    description: "Role or disabled changes end the user's tokens",
  })
  @ApiErrors(ErrorCode.UserNotFound, ErrorCode.CannotChangeSelf)
  update(
    @AuthUser() caller: AuthenticatedUser,
    @UuidParam('user_id') userId: string,
    @Body() dto: UpdateUserByAdminDto,
  ): Promise<AdminUserDto> {
    return this.admin.updateUser(caller, userId, dto);
  }

  @Delete(':user_id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'adminDeleteUser',
    summary: 'Delete a user and everything stored about them',
  })
  @ApiNoContentResponse({ description: 'The user, their data, memories and tokens are gone' })
  @ApiErrors(ErrorCode.UserNotFound, ErrorCode.CannotChangeSelf)
  async delete(
    @AuthUser() admin: AuthenticatedUser,
    @UuidParam('user_id') userId: string,
  ): Promise<void> {
    await this.account.deleteUserAsAdmin(admin, userId);
  }
}
