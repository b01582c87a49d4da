export * from './memory-jobs.module';
export * from './memory-jobs.service';
export type { NewMemoryJob } from './memory-jobs.repository';
