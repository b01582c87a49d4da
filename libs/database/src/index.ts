export * from './data-source-options';
export * from './database.module';
export * from './entities/chat-session.entity';
export * from './entities/memory-job.entity';
export * from './entities/message.entity';
export * from './entities/revoked-token.entity';
export * from './entities/user.entity';
export * from './schema';
