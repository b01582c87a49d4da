import { AsyncLocalStorage } from 'node:async_hooks';

const currentCap = new AsyncLocalStorage<number>();

/**
 * Runs `work` (a Mem0 `add`) so that its extraction keeps at most `max` facts: Mem0's model
 * client, wrapped by `capExtractedFacts` (mem0-internals.ts), reads the cap from here.
 */
export function withFactCap<T>(max: number, work: () => Promise<T>): Promise<T> {
  return currentCap.run(max, work);
}

/** The cap of the `withFactCap` this call runs inside, if any. */
export function currentFactCap(): number | undefined {
  return currentCap.getStore();
}

/** The answer with at most `max` facts; unchanged when it is not such JSON or already short. */
export function keepFirstFacts(response: string, max: number): string {
  // Mem0 strips code fences and prose around the object; so does this.
  const start = response.indexOf('{');
  const end = response.lastIndexOf('}');
  if (start < 0 || end <= start) return response;
  try {
    const parsed = JSON.parse(response.slice(start, end + 1)) as { memory?: unknown };
    if (!Array.isArray(parsed.memory) || parsed.memory.length <= max) return response;
    return JSON.stringify({ ...parsed, memory: parsed.memory.slice(0, Math.max(0, max)) });
  } catch {
    return response;
  }
}
