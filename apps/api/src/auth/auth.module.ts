import { AppConfig } from '@app/config';
import { RevokedToken } from '@app/database';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';

import { ApiKeysModule } from '../api-keys/api-keys.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { jwtKey } from './jwt-key';
import { JWT_STRATEGY_NAME, JwtStrategy } from './jwt.strategy';
import { RevokedTokenPruner } from './revoked-token-pruner';
import { RevokedTokensRepository } from './revoked-tokens.repository';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [AppConfig],
      // Signs only: JwtStrategy verifies.
      useFactory: (config: AppConfig) => ({
        privateKey: jwtKey(config),
        signOptions: {
          algorithm: config.auth.jwtAlgorithm,
          issuer: config.auth.jwtIssuer,
          audience: config.auth.jwtAudience,
        },
      }),
    }),
    TypeOrmModule.forFeature([RevokedToken]),
    ApiKeysModule,
    UsersModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    JwtStrategy,
    RevokedTokenPruner,
    RevokedTokensRepository,
    // One per app instance: passport's strategy registry is process-wide (jwt.strategy.ts).
    { provide: JWT_STRATEGY_NAME, useFactory: () => `jwt:${randomUUID()}` },
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
