import { Candidate, fuseCandidates, FUSION } from './fused-search';

const c = (id: string, score: number): Candidate => ({ id, score, payload: { data: id } });
const ids = (found: Candidate[]) => found.map((x) => x.id);

describe('fuseCandidates', () => {
  it('scores w · cosine + (1 − w) · BM25 relative to the best keyword match', () => {
    const found = fuseCandidates([c('a', 0.8), c('b', 0.4)], [c('b', 6), c('a', 3)], { topK: 5 });
    const w = FUSION.semanticWeight;
    expect(ids(found)).toEqual(['b', 'a']);
    expect(found[0].score).toBeCloseTo(w * 0.4 + (1 - w) * 1);
    expect(found[1].score).toBeCloseTo(w * 0.8 + (1 - w) * 0.5);
  });

  it('ranks a memory found only by its words, with the lowest cosine of the vector list', () => {
    const semantic = [c('near', 0.6), c('nearer', 0.7), c('far', 0.2)];
    const found = fuseCandidates(semantic, [c('rare-word', 9)], { topK: 4 });
    expect(ids(found)).toEqual(['rare-word', 'nearer', 'near', 'far']);
    expect(found[0].score).toBeCloseTo(FUSION.semanticWeight * 0.2 + (1 - FUSION.semanticWeight));
  });

  it('drops what only the vector index found below the least similarity, unless its words match', () => {
    const found = fuseCandidates(
      [c('close', 0.5), c('unrelated', 0.05), c('worded', 0.02)],
      [c('worded', 1)],
      {
        topK: 10,
      },
    );
    expect(ids(found).sort()).toEqual(['close', 'worded']);
  });

  it('with a threshold keeps only memories whose known cosine reaches it', () => {
    const found = fuseCandidates([c('a', 0.9), c('b', 0.3)], [c('kw-only', 5), c('b', 5)], {
      topK: 10,
      threshold: 0.4,
    });
    expect(ids(found)).toEqual(['a']);
  });

  it('adds entity boosts as Mem0 does and keeps scores within [0, 1]', () => {
    const boosts = new Map([['b', FUSION.entityWeight]]);
    const found = fuseCandidates([c('a', 0.9), c('b', 0.85)], [], { topK: 2, boosts });
    expect(ids(found)).toEqual(['b', 'a']);
    expect(found[0].score).toBeCloseTo(
      (FUSION.semanticWeight * 0.85 + FUSION.entityWeight) / (1 + FUSION.entityWeight),
    );
    for (const item of found) expect(item.score).toBeLessThanOrEqual(1);
  });

  it('counts negative cosines as 0, cuts at topK and answers nothing for no candidates', () => {
    const found = fuseCandidates([c('a', -0.3)], [c('a', 2), c('b', 1)], { topK: 1 });
    expect(found).toEqual([{ id: 'a', score: 1 - FUSION.semanticWeight, payload: { data: 'a' } }]);
    expect(fuseCandidates([], [], { topK: 5 })).toEqual([]);
  });

  it('ignores keyword results scored 0 (no shared word)', () => {
    const found = fuseCandidates([c('a', 0.05)], [c('a', 0)], { topK: 5 });
    expect(found).toEqual([]);
  });

  it('lifts a memory by the best score of its conversation (session_id)', () => {
    const said = (id: string, score: number, session?: string): Candidate => ({
      id,
      score,
      payload: { data: id, ...(session ? { session_id: session } : {}) },
    });
    // "reply" alone is weaker than "other", but it was said where "question" matched best.
    const semantic = [
      said('question', 0.9, 's1'),
      said('other', 0.5, 's2'),
      said('reply', 0.4, 's1'),
      said('alone', 0.45),
    ];
    const found = fuseCandidates(semantic, [], { topK: 4 });
    expect(ids(found)).toEqual(['question', 'reply', 'other', 'alone']);
    const w = FUSION.semanticWeight;
    const c = FUSION.conversationWeight;
    expect(found[0].score).toBeCloseTo(w * 0.9);
    expect(found[1].score).toBeCloseTo((w * 0.4 + c * w * 0.9) / (1 + c));
    expect(found[3].score).toBeCloseTo(w * 0.45);
  });
});
