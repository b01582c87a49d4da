export * from './register';
export * from './sqlite-vec.store';
export * from './stored-dimension';
