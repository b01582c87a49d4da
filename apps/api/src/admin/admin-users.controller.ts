import {
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  Page,
  PageOf,
  PaginationQueryDto,
  UuidParam,
} from '@app/common';
import { Body, Controller, Get, Patch, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';

import { AdminUserDto, UpdateUserByAdminDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOkResponse({ type: PageOf(AdminUserDto) })
  list(@Query() page: PaginationQueryDto): Promise<Page<AdminUserDto>> {
    return this.admin.listUsers(page.limit, page.offset);
  }

  @Patch(':user_id')
  @ApiOkResponse({
    type: AdminUserDto,
    description: "Role or disabled changes end the user's tokens",
  })
  @ApiBadRequestResponse({ description: 'Empty body, invalid or unknown fields' })
  @ApiNotFoundResponse({ description: 'No such user' })
  @ApiConflictResponse({ description: 'You cannot disable or demote yourself' })
  update(
    @AuthUser() caller: AuthenticatedUser,
    @UuidParam('user_id') userId: string,
    @Body() dto: UpdateUserByAdminDto,
  ): Promise<AdminUserDto> {
    return this.admin.updateUser(caller, userId, dto);
  }
}
