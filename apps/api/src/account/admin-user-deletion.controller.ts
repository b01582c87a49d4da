import { Authenticated, AuthenticatedUser, AuthUser, UuidParam } from '@app/common';
import { Controller, Delete, HttpCode } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';

import { AccountService } from './account.service';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('api/v1/admin/users')
export class AdminUserDeletionController {
  constructor(private readonly account: AccountService) {}

  @Delete(':user_id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The user, their data, memories and tokens are gone' })
  @ApiNotFoundResponse({ description: 'No such user' })
  @ApiConflictResponse({ description: 'An admin cannot delete themself here' })
  async delete(
    @AuthUser() admin: AuthenticatedUser,
    @UuidParam('user_id') userId: string,
  ): Promise<void> {
    await this.account.deleteUserAsAdmin(admin, userId);
  }
}
