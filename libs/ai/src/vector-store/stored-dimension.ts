/**
 * What the project's own vector stores (sqlite-vec, and the SQL store) add to Mem0's VectorStore
 * interface: the size of the vectors a collection holds, read without initializing it, so that a
 * start on another embedding size stops before anything is written.
 */
export interface SizedVectorStore {
  /** The dimension of the vectors the collection holds; undefined when it holds none. */
  storedDimension(): Promise<number | undefined>;
}

export function isSized(store: object): store is SizedVectorStore {
  return typeof (store as Partial<SizedVectorStore>).storedDimension === 'function';
}
