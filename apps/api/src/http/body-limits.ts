import { DomainError, ErrorCode } from '@app/common';

/** Largest request body accepted (1 MiB); a larger one is a 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/*
 * How complex a parsed JSON body may be. Everything after the parser walks the value in full, and
 * some of it badly: Nest's ValidationPipe and class-transformer recurse (a deep body overflows the
 * stack), class-transformer removes duplicate keys with indexOf (quadratic in the keys of one
 * object), and class-validator answers every unknown key with a message of its own. A 1 MiB body
 * of 90,000 keys held the event loop for seconds.
 * Today's bodies are flat DTOs of a few keys. The largest planned one, an OpenAI-compatible chat
 * completion, holds a few hundred messages with content parts (~6 levels, ~10 values a message)
 * and tool definitions whose JSON Schemas nest a few levels more. Each limit leaves it room.
 */
export const MAX_BODY_DEPTH = 32;
export const MAX_BODY_KEYS_PER_OBJECT = 100;
export const MAX_BODY_ARRAY_ITEMS = 1000;
/** Every value counted once: objects, arrays, strings, numbers, booleans and nulls. */
export const MAX_BODY_VALUES = 10_000;

export const BODY_TOO_COMPLEX =
  `Request body is too complex: at most ${MAX_BODY_DEPTH} levels of nesting, ` +
  `${MAX_BODY_KEYS_PER_OBJECT} keys per object, ${MAX_BODY_ARRAY_ITEMS} items per array ` +
  `and ${MAX_BODY_VALUES} values in all`;

/** Throws a 400 for a body past any of the limits above; never echoes the body. */
export function checkBodyShape(body: unknown): void {
  if (!withinShapeLimits(body)) throw new DomainError(ErrorCode.BodyTooComplex, BODY_TOO_COMPLEX);
}

/**
 * An iterative walk (a recursive one would overflow on the very bodies it must refuse) that visits
 * each value at most once and stops at the first limit crossed: linear in the part of the body it
 * reads, which is at most MAX_BODY_VALUES values.
 */
function withinShapeLimits(root: unknown): boolean {
  const pending: object[] = [];
  const depths: number[] = [];
  let values = 1;
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== 'object' || value === null) return true;
    if (depth > MAX_BODY_DEPTH) return false;
    pending.push(value);
    depths.push(depth);
    return true;
  };
  if (!visit(root, 1)) return false;
  while (pending.length > 0) {
    const node = pending.pop() as object;
    const depth = depths.pop() as number;
    if (Array.isArray(node)) {
      if (node.length > MAX_BODY_ARRAY_ITEMS) return false;
      values += node.length;
      if (values > MAX_BODY_VALUES) return false;
      for (const item of node as unknown[]) if (!visit(item, depth + 1)) return false;
      continue;
    }
    let keys = 0;
    for (const key in node) {
      keys += 1;
      values += 1;
      if (keys > MAX_BODY_KEYS_PER_OBJECT || values > MAX_BODY_VALUES) return false;
      if (!visit((node as Record<string, unknown>)[key], depth + 1)) return false;
    }
  }
  return true;
}
