import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

import { UsersService } from './users.service';

/** Makes the admin named by ADMIN_USERNAME/ADMIN_EMAIL/ADMIN_PASSWORD exist after start-up. */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.admin) return;
    const { user, created } = await this.users.ensureAdmin(this.config.admin);
    this.logger.log(
      `Admin "${user.username}" ${created ? 'created' : 'promoted and password reset'}`,
    );
  }
}
