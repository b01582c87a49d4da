import { AppConfig } from '@app/config';
import { Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';

import { dataSourceOptions } from './data-source-options';
import { limitLockWaits } from './lock-wait-timeout';
import { migrateSchema, MigrateOptions } from './schema-migrator';

interface WithMigration {
  schemaMigration: MigrateOptions;
}
import { Statements } from './statements';
import { Transactions } from './transactions';

/**
 * The database connection, `Transactions`, the one way to write through it, and `Statements`,
 * plain prepared SQL for the hot path's repositories. The connection is handed out only once the
 * schema is this build's (applied here under a lock, or waited for): nothing that injects the
 * DataSource can run on an old schema.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): TypeOrmModuleOptions & WithMigration => ({
        ...dataSourceOptions(config.database),
        retryAttempts: config.isProduction ? 10 : 2,
        retryDelay: 1000,
        schemaMigration: {
          mode: config.database.migrationsRun ? 'run' : 'wait',
          timeoutSeconds: config.database.migrationsWaitSeconds,
        },
      }),
      // Nest hands the object built above to this factory.
      dataSourceFactory: async (options) => {
        const { schemaMigration, ...typeorm } = options as DataSourceOptions & WithMigration;
        const dataSource = await new DataSource(typeorm).initialize();
        const logger = new Logger('Database');
        try {
          await migrateSchema(dataSource, { ...schemaMigration, log: (m) => logger.log(m) });
        } catch (error) {
          await dataSource.destroy();
          throw error;
        }
        return dataSource;
      },
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
