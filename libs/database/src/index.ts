export * from './data-source-options';
export * from './database.module';
export * from './entities/revoked-token.entity';
export * from './entities/user.entity';
export * from './schema';
