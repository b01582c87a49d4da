import { AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';

import { LimitsStore, LimitsStoreModule } from './limits-store';
import { LoginFailureLimiter } from './login-failure-limiter';
import { rateLimitOptions } from './rate-limit.rules';

/**
 * Abuse limits: @nestjs/throttler's rules for registration and chat turns (`@RateLimit`), and the
 * failed-password budgets (LoginFailureLimiter) counted in the same storage.
 *
 * Storage: every counter goes through the throttler's `ThrottlerStorage` provider (token
 * `getStorageToken()` from @nestjs/throttler), which LimitsStore chooses: the library's in-memory
 * store, one per process, or with REDIS_URL one Redis shared by every replica. A test can instead
 * `overrideProvider(getStorageToken())`.
 */
@Global()
@Module({
  imports: [
    LimitsStoreModule,
    ThrottlerModule.forRootAsync({
      imports: [LimitsStoreModule],
      inject: [AppConfig, LimitsStore],
      useFactory: (config: AppConfig, store: LimitsStore) => ({
        ...rateLimitOptions(config.limits),
        storage: store.storage,
      }),
    }),
  ],
  providers: [LoginFailureLimiter],
  exports: [LoginFailureLimiter, LimitsStoreModule],
})
export class ThrottlingModule {}
