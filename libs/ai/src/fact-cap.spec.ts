import { keepFirstFacts, withFactCap } from './fact-cap';

const facts = (n: number) =>
  JSON.stringify({
    memory: Array.from({ length: n }, (_, i) => ({ id: String(i), text: `I own gadget ${i}` })),
  });

describe('keepFirstFacts', () => {
  it('keeps the first `max` facts of an extraction answer', () => {
    const kept = JSON.parse(keepFirstFacts(facts(30), 20)) as { memory: { text: string }[] };
    expect(kept.memory).toHaveLength(20);
    expect(kept.memory[19].text).toBe('I own gadget 19');
  });

  it('reads the object out of code fences and prose, as Mem0 does', () => {
    const fenced = `Here you go:\n\`\`\`json\n${facts(5)}\n\`\`\``;
    expect(JSON.parse(keepFirstFacts(fenced, 2))).toMatchObject({ memory: [{}, {}] });
  });

  it('leaves short answers, other JSON and non-JSON exactly as they were', () => {
    expect(keepFirstFacts(facts(3), 20)).toBe(facts(3));
    expect(keepFirstFacts('{"score": 0.8}', 1)).toBe('{"score": 0.8}');
    expect(keepFirstFacts('not json at all', 1)).toBe('not json at all');
    expect(keepFirstFacts('{"memory": "oops"', 1)).toBe('{"memory": "oops"');
  });
});

describe('withFactCap', () => {
  it('returns what the work returns', async () => {
    await expect(withFactCap(3, () => Promise.resolve('done'))).resolves.toBe('done');
  });
});
