export * from './ai.module';
export * from './llm.client';
export * from './mem0-config';
export * from './memory.store';
export * from './vector-store';
export * from './re-embed';
export { createLocalEmbedder } from './local-embedder';
export type { LocalEmbedder, TextEmbeddings } from './local-embedder';
