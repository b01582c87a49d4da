import { AsyncLocalStorage } from 'node:async_hooks';
import type { Memory } from 'mem0ai/oss';

const currentCap = new AsyncLocalStorage<number>();

/** Runs `work` (a Mem0 `add`) so that its extraction keeps at most `max` facts. */
export function withFactCap<T>(max: number, work: () => Promise<T>): Promise<T> {
  return currentCap.run(max, work);
}

/**
 * Mem0 embeds and stores every fact its extraction prompt returns: one long turn of 350 "I own
 * gadget N" lines became 352 memories. There is no setting for it, so the instance's model
 * client is wrapped: inside `withFactCap`, an answer holding a `memory` array keeps its first
 * `max` facts before Mem0 reads it. Depends on Mem0's private `llm` field and on its extraction
 * answer shape `{"memory": [...]}` (pinned by fact-cap.spec.ts against the installed Mem0).
 */
export function capExtractedFacts(memory: Memory): void {
  const llm = (memory as unknown as { llm: { generateResponse: (...args: never[]) => unknown } })
    .llm;
  const generate = llm.generateResponse.bind(llm);
  llm.generateResponse = async (...args: never[]) => {
    const response: unknown = await generate(...args);
    const max = currentCap.getStore();
    return max === undefined || typeof response !== 'string'
      ? response
      : keepFirstFacts(response, max);
  };
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
