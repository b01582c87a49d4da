import { AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';

import { LoginFailureLimiter } from './login-failure-limiter';
import { rateLimitOptions } from './rate-limit.rules';

/**
 * Abuse limits: @nestjs/throttler's rules for registration and chat turns (`@RateLimit`), and the
 * failed-login budget (`@LimitLoginFailures`) counted in the same storage.
 *
 * Storage: every counter goes through the throttler's `ThrottlerStorage` provider (token
 * `getStorageToken()` from @nestjs/throttler). It is the library's in-memory store, right for one
 * process. To share limits between replicas, return a shared store from the factory below, e.g.
 * `storage: new ThrottlerStorageRedisService(redisUrl)` from `@nest-lab/throttler-storage-redis`
 * (any `ThrottlerStorage` with the same block semantics works); a test can instead
 * `overrideProvider(getStorageToken())`.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => rateLimitOptions(config.limits),
    }),
  ],
  providers: [LoginFailureLimiter],
  exports: [LoginFailureLimiter],
})
export class ThrottlingModule {}
