import {
  ApiErrors,
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  ErrorCode,
  UuidParam,
} from '@app/common';
import { Controller, Delete, HttpCode } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AccountService } from './account.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUserDeletionController {
  constructor(private readonly account: AccountService) {}

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
