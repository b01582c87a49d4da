import { AllExceptionsFilter, AppValidationPipe, loggerParams } from '@app/common';
import { AppConfig, AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { BeforeApplicationShutdown, DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

import { AccountModule } from './account/account.module';
import { AdminModule } from './admin/admin.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { ChatModule } from './chat/chat.module';
import { HealthModule } from './health/health.module';
import { MemoryModule } from './memory/memory.module';
import { SessionsModule } from './sessions/sessions.module';
import { ThrottlingModule } from './throttling/throttling.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule implements BeforeApplicationShutdown {
  beforeApplicationShutdown(signal?: string): void {
    // Nest now stops accepting connections, lets in-flight requests finish, then closes the database.
    if (signal) new Logger('Shutdown').log(`${signal} received: finishing in-flight requests`);
  }

  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config, logDestination)),
        DatabaseModule,
        AccountModule,
        AdminModule,
        ApiKeysModule,
        AuthModule,
        ChatModule,
        HealthModule,
        MemoryModule,
        SessionsModule,
        ThrottlingModule,
        UsersModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useValue: new AppValidationPipe() },
      ],
    };
  }
}
