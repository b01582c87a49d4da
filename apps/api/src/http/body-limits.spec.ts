import { DomainError, ErrorCode } from '@app/common';

import {
  BODY_TOO_COMPLEX,
  checkBodyShape,
  MAX_BODY_ARRAY_ITEMS,
  MAX_BODY_DEPTH,
  MAX_BODY_KEYS_PER_OBJECT,
  MAX_BODY_VALUES,
} from './body-limits';

function nested(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

function withKeys(count: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
}

function refused(body: unknown): boolean {
  try {
    checkBodyShape(body);
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: ErrorCode.BodyTooComplex, message: BODY_TOO_COMPLEX });
    return true;
  }
}

describe('checkBodyShape', () => {
  it('accepts the bodies of today and of a long chat completion', () => {
    expect(refused({})).toBe(false);
    expect(refused({ username: 'a', password: 'b', remember: true, n: null })).toBe(false);
    const completion = {
      model: 'gpt-4o-mini',
      messages: Array.from({ length: 400 }, (_, i) => ({
        role: i % 2 ? 'assistant' : 'user',
        content: [
          { type: 'text', text: `turn ${i}` },
          { type: 'image_url', image_url: { url: 'data:,' } },
        ],
      })),
      tools: [{ type: 'function', function: { name: 'f', parameters: nested(12, {}) } }],
    };
    expect(refused(completion)).toBe(false);
  });

  it('accepts a body at every limit, refuses one past any of them', () => {
    expect(refused(nested(MAX_BODY_DEPTH))).toBe(false);
    expect(refused(nested(MAX_BODY_DEPTH + 1))).toBe(true);
    expect(refused({ a: withKeys(MAX_BODY_KEYS_PER_OBJECT) })).toBe(false);
    expect(refused({ a: withKeys(MAX_BODY_KEYS_PER_OBJECT + 1) })).toBe(true);
    expect(refused({ a: new Array(MAX_BODY_ARRAY_ITEMS).fill(0) })).toBe(false);
    expect(refused({ a: new Array(MAX_BODY_ARRAY_ITEMS + 1).fill(0) })).toBe(true);
  });

  it('counts every value, the root included', () => {
    const items = MAX_BODY_ARRAY_ITEMS - 1;
    // Root + one array per key + its items: 1 + n * (1 + items).
    const lists = Math.floor((MAX_BODY_VALUES - 1) / (items + 1));
    const body = Object.fromEntries(
      Array.from({ length: lists }, (_, i) => [`k${i}`, new Array(items).fill('x')]),
    );
    const count = 1 + lists * (items + 1);
    expect(refused(body)).toBe(false);
    const extra = MAX_BODY_VALUES - count + 1;
    expect(refused({ ...body, last: new Array(extra - 1).fill(null) })).toBe(true);
    expect(refused({ ...body, last: new Array(extra - 2).fill(null) })).toBe(false);
  });

  it('walks a body far deeper than the stack without overflowing, in linear time', () => {
    const deep = JSON.parse('['.repeat(500_000) + ']'.repeat(500_000)) as unknown;
    const wide = JSON.parse(JSON.stringify(withKeys(90_000))) as unknown;
    const started = performance.now();
    expect(refused(deep)).toBe(true);
    expect(refused(wide)).toBe(true);
    expect(refused(new Array(1_000_000).fill(0))).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
