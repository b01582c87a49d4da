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
import { Body, Controller, Get, Patch, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AdminUserDto, UpdateUserByAdminDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUsersController {
  constructor(private readonly admin: AdminService) {}

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
}
