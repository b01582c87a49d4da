import { TEST_DATABASES } from './support/databases';
import { embedText } from './support/openai-double';
import { bearer, chatTurn, memoryJobsDone, registerUser, TestApp } from './support/test-app';
import { useApp } from './support/use-app';

const DIMS = 1024;
/** A long fact: the one word it shares with the query weighs little in its (word-hash) vector. */
const FACT =
  'After her wedding in Arusha my cousin Ana and I booked a ferry from Dar es Salaam to Zanzibar ' +
  'for the second week of June, to stay in Stone Town near the night market, rent bicycles, ' +
  'visit spice farms, swim at Nungwi beach and dive off Mnemba atoll.';
const QUERY = 'Remind me about Zanzibar';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i], 0);

async function search(t: TestApp, token: string, query: string): Promise<string[]> {
  const res = await t
    .http()
    .post('/api/v1/memories/search')
    .set(bearer(token))
    .send({ query, limit: 5 })
    .expect(200);
  return (res.body.results as { memory: string }[]).map((m) => m.memory);
}

/**
 * MEMORY_SEARCH reaches the search thread: the app's fused search keeps a memory that shares a
 * rare word with the query whatever its cosine similarity, where Mem0's own search drops it
 * below its threshold (0.1). The double's embeddings are hashed bags of words, so the fact's
 * cosine to the query is known in advance (checked first).
 */
describe.each(TEST_DATABASES)('memory search ranking on $name', (db) => {
  it('the fact is far from the query by cosine (the premise)', () => {
    expect(cosine(embedText(QUERY, DIMS), embedText(FACT, DIMS))).toBeLessThan(0.08);
  });

  describe.each([
    ['fused', [FACT]],
    ['mem0', []],
  ])('MEMORY_SEARCH=%s', (mode, expected) => {
    const t = useApp(db, {
      double: true,
      env: { MEMORY_SEARCH: mode, EMBEDDING_DIMS: String(DIMS) },
    });

    it(`finds ${expected.length ? 'it by its words' : 'nothing'}`, async () => {
      t.double.setExtractor(() => [FACT]);
      const user = await registerUser(t);
      await chatTurn(t, user, 'Ana and I are going to Zanzibar in June, after her wedding.');
      await memoryJobsDone(t, user.id);
      expect(await search(t, user.token, 'Nungwi beach Mnemba atoll Stone Town')).toEqual([FACT]);
      expect(await search(t, user.token, QUERY)).toEqual(expected);
    });
  });
});
