export * from './app-config';
export * from './config.module';
export * from './env-reader';
export * from './load-config';
