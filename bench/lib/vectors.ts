import { createHash, randomUUID } from 'node:crypto';

import { embedText } from '../../test/support/openai-double';

export const DIMS = 1536;
const WORDS = [
  'coffee',
  'hiking',
  'porto',
  'guitar',
  'python',
  'chess',
  'sushi',
  'cycling',
  'jazz',
  'garden',
  'novels',
  'running',
  'tea',
  'berlin',
  'painting',
  'sailing',
  'piano',
  'climbing',
  'ramen',
  'yoga',
];

/** mulberry32: a small seeded generator, so every run seeds the same vectors. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Words only this user's memories and queries contain. */
export const userPhrase = (u: number): string => `alpha${u} beta${u} gamma${u}`;

/**
 * The centre of a user's cluster is the stub's embedding of the user's phrase, so that a query
 * holding that phrase (embedded by the stub) lands near the user's memories (cosine about 0.5).
 */
export function center(u: number): Float32Array {
  return embedText(userPhrase(u), DIMS);
}

function normalize(v: Float32Array): number[] {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  return Array.from(v, (x) => x / norm);
}

/** A unit vector near `c`: c plus noise of norm ~1.3 in a random direction (cosine ~0.6). */
export function near(c: Float32Array, random: () => number, spread = 1.3): number[] {
  const noise = new Float32Array(DIMS);
  let norm = 0;
  for (let i = 0; i < DIMS; i++) {
    noise[i] = random() * 2 - 1;
    norm += noise[i] * noise[i];
  }
  const scale = spread / Math.sqrt(norm);
  const v = new Float32Array(DIMS);
  for (let i = 0; i < DIMS; i++) v[i] = c[i] + noise[i] * scale;
  return normalize(v);
}

/** A memory as mem0 3.3 writes it: metadata spread at the top, then its own fields. */
export function memoryPayload(userId: string, u: number, k: number, random: () => number) {
  const pick = () => WORDS[Math.floor(random() * WORDS.length)];
  const data = `alpha${u} likes ${pick()} and ${pick()} (fact ${k})`;
  const now = new Date(Date.UTC(2025, 0, 1) + k * 60_000).toISOString();
  return {
    session_id: randomUUID(),
    message_id: randomUUID(),
    job_id: randomUUID(),
    data,
    textLemmatized: data.toLowerCase().replace(/[()]/g, ''),
    hash: createHash('md5').update(data).digest('hex'),
    createdAt: now,
    updatedAt: now,
    attributedTo: 'user',
    user_id: userId,
  };
}
