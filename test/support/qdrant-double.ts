/**
 * TEST DOUBLE: an in-process stand-in for `@qdrant/js-client-rest`'s QdrantClient, handed to
 * Mem0's own Qdrant store through its `client` setting, so that Mem0's Qdrant code (filters,
 * scroll-based list, deletes, collection checks) runs without a Qdrant server. It keeps points in
 * maps and implements what that code calls, with Qdrant's semantics for them: cosine scores, a
 * 409 for an existing collection, filters of `must`/`should`/`must_not` with `match`. Anything
 * else throws, so a Mem0 upgrade that calls more fails the test instead of passing it.
 */
type Payload = Record<string, unknown>;
interface Point {
  id: string;
  vector: number[];
  payload: Payload;
}
interface Condition {
  key?: string;
  match?: { value?: unknown; any?: unknown[]; except?: unknown[] };
  must?: Condition[];
  should?: Condition[];
  must_not?: Condition[];
}
interface Collection {
  size: number;
  sparse: boolean;
  points: Map<string, Point>;
}

export class QdrantClientDouble {
  readonly collections = new Map<string, Collection>();

  createCollection(
    name: string,
    params: { vectors: { size: number }; sparse_vectors?: object },
  ): Promise<boolean> {
    if (this.collections.has(name)) {
      return Promise.reject(Object.assign(new Error('Conflict'), { status: 409 }));
    }
    const { size } = params.vectors;
    this.collections.set(name, { size, sparse: !!params.sparse_vectors, points: new Map() });
    return Promise.resolve(true);
  }

  getCollection(name: string) {
    const { size, sparse } = this.collection(name);
    return Promise.resolve({
      config: { params: { vectors: { size }, sparse_vectors: sparse ? { bm25: {} } : undefined } },
    });
  }

  createPayloadIndex(): Promise<void> {
    return Promise.resolve();
  }

  deleteCollection(name: string): Promise<boolean> {
    return Promise.resolve(this.collections.delete(name));
  }

  upsert(name: string, request: { points: { id: string; vector: unknown; payload?: Payload }[] }) {
    const collection = this.collection(name);
    for (const point of request.points) {
      // With a BM25 slot Mem0 sends named vectors: the dense one is named "".
      const vector = Array.isArray(point.vector)
        ? (point.vector as number[])
        : (point.vector as Record<string, number[]>)[''];
      if (vector.length !== collection.size) {
        return Promise.reject(
          Object.assign(
            new Error(
              `Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${vector.length}`,
            ),
            { status: 400 },
          ),
        );
      }
      collection.points.set(point.id, { id: point.id, vector, payload: point.payload ?? {} });
    }
    return Promise.resolve({ status: 'completed' });
  }

  search(name: string, request: { vector: number[]; filter?: Condition; limit: number }) {
    const hits = this.matching(name, request.filter).map((point) => ({
      id: point.id,
      payload: point.payload,
      score: cosine(point.vector, request.vector),
    }));
    return Promise.resolve(hits.sort((a, b) => b.score - a.score).slice(0, request.limit));
  }

  /** BM25 inference is a server feature: no keyword hits here, as on a server without it. */
  query() {
    return Promise.resolve({ points: [] });
  }

  scroll(name: string, request: { filter?: Condition; limit?: number }) {
    const points = this.matching(name, request.filter).slice(0, request.limit ?? 10);
    return Promise.resolve({
      points: points.map(({ id, payload }) => ({ id, payload })),
      next_page_offset: null,
    });
  }

  retrieve(name: string, request: { ids: string[] }) {
    const { points } = this.collection(name);
    return Promise.resolve(
      request.ids.flatMap((id) => {
        const point = points.get(id);
        return point ? [{ id, payload: point.payload }] : [];
      }),
    );
  }

  delete(name: string, request: { points: string[] }) {
    const { points } = this.collection(name);
    for (const id of request.points) points.delete(id);
    return Promise.resolve({ status: 'completed' });
  }

  private collection(name: string): Collection {
    const collection = this.collections.get(name);
    if (!collection) throw Object.assign(new Error(`Not found: ${name}`), { status: 404 });
    return collection;
  }

  private matching(name: string, filter?: Condition): Point[] {
    return [...this.collection(name).points.values()].filter(
      (point) => !filter || matches(point.payload, filter),
    );
  }
}

function matches(payload: Payload, condition: Condition): boolean {
  if (condition.key !== undefined) {
    const value = payload[condition.key];
    const match = condition.match ?? {};
    if ('value' in match) return value === match.value;
    if (match.any) return match.any.includes(value);
    if (match.except) return !match.except.includes(value);
    throw new Error(`Qdrant double: unsupported condition ${JSON.stringify(condition)}`);
  }
  const { must, should, must_not: mustNot } = condition;
  if (!must && !should && !mustNot) {
    throw new Error(`Qdrant double: unsupported condition ${JSON.stringify(condition)}`);
  }
  return (
    (must ?? []).every((c) => matches(payload, c)) &&
    (!should || should.some((c) => matches(payload, c))) &&
    !(mustNot ?? []).some((c) => matches(payload, c))
  );
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    dot += x * b[i];
    na += x * x;
    nb += b[i] * b[i];
  });
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}
