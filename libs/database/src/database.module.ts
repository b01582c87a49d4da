import { AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { dataSourceOptions } from './data-source-options';
import { limitLockWaits } from './lock-wait-timeout';
import { Statements } from './statements';
import { Transactions } from './transactions';

/**
 * The database connection, `Transactions`, the one way to write through it, and `Statements`,
 * plain prepared SQL for the hot path's repositories.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config.database),
        retryAttempts: config.isProduction ? 10 : 2,
        retryDelay: 1000,
      }),
    }),
  ],
  providers: [Transactions, Statements],
  exports: [Transactions, Statements],
})
export class DatabaseModule {
  constructor(dataSource: DataSource, config: AppConfig) {
    limitLockWaits(dataSource, config.database.lockWaitTimeoutSeconds);
  }
}
