export * from './auth/authenticated-user';
export * from './auth/decorators';
export * from './errors/all-exceptions.filter';
export * from './errors/domain-error';
export * from './http/pagination';
export * from './http/uuid';
export * from './errors/framework-error';
export * from './logging/redact';
