import { Authenticated, AuthenticatedUser, AuthUser, PaginationQueryDto } from '@app/common';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Param,
  ParseUUIDPipe,
  Patch,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { AdminUserDto, AdminUserPageDto, UpdateUserByAdminDto } from './admin.dto';
import { AdminService } from './admin.service';

const UserId = () =>
  Param(
    'user_id',
    new ParseUUIDPipe({
      exceptionFactory: () => new BadRequestException('user_id must be a UUID'),
    }),
  );

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOkResponse({ type: AdminUserPageDto })
  list(@Query() page: PaginationQueryDto): Promise<AdminUserPageDto> {
    return this.admin.listUsers(page.limit, page.offset);
  }

  @Patch(':user_id')
  @ApiParam({ name: 'user_id', format: 'uuid' })
  @ApiOkResponse({
    type: AdminUserDto,
    description: "Role or disabled changes end the user's tokens",
  })
  @ApiBadRequestResponse({ description: 'Empty body, invalid or unknown fields' })
  @ApiNotFoundResponse({ description: 'No such user' })
  @ApiConflictResponse({ description: 'You cannot disable or demote yourself' })
  update(
    @AuthUser() caller: AuthenticatedUser,
    @UserId() userId: string,
    @Body() dto: UpdateUserByAdminDto,
  ): Promise<AdminUserDto> {
    return this.admin.updateUser(caller, userId, dto);
  }
}
