export * from './register';
export * from './sqlite-vec.store';
