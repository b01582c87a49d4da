import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

import { UsersService } from './users.service';

/**
 * Makes the admin named by ADMIN_USERNAME/ADMIN_EMAIL/ADMIN_PASSWORD exist after start-up, and
 * logs only what it changed.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  /** Refuses to start (AdminBootstrapRefused) rather than adopt an account it should not. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.admin) return;
    const { user, changes } = await this.users.ensureAdmin(this.config.admin, {
      promoteExisting: this.config.admin.promoteExisting,
    });
    if (changes.length > 0) this.logger.log(`Admin "${user.username}": ${changes.join(', ')}`);
  }
}
