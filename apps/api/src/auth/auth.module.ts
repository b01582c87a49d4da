import { AppConfig } from '@app/config';
import { RevokedToken } from '@app/database';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';

import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { jwtKey } from './jwt-key';
import { RevokedTokenPruner } from './revoked-token-pruner';
import { RevokedTokensRepository } from './revoked-tokens.repository';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        privateKey: jwtKey(config),
        publicKey: jwtKey(config),
        signOptions: {
          algorithm: config.auth.jwtAlgorithm,
          issuer: config.auth.jwtIssuer,
          audience: config.auth.jwtAudience,
        },
        verifyOptions: {
          algorithms: [config.auth.jwtAlgorithm],
          issuer: config.auth.jwtIssuer,
          audience: config.auth.jwtAudience,
        },
      }),
    }),
    TypeOrmModule.forFeature([RevokedToken]),
    UsersModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    RevokedTokenPruner,
    RevokedTokensRepository,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
