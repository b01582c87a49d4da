/**
 * Realistic turns: each tells a new fact that names people, places and dates, as users talk about
 * their lives ("My friend Anna Schmidt from Porto started the cello in 1997"). Mem0's search
 * extracts the names for its entity boost, and the test double's extractor finds a fact in every
 * "My …" sentence, so memories and histories grow as the load runs. Deterministic per (user, n).
 */
const FIRST = [
  'Anna',
  'Kenji',
  'Amara',
  'Luca',
  'Sofia',
  'Mateo',
  'Priya',
  'Jonas',
  'Fatima',
  'Diego',
  'Ingrid',
  'Tomasz',
  'Aiko',
  'Omar',
  'Chloe',
  'Rafael',
  'Leila',
  'Nikolai',
  'Zanele',
  'Hugo',
];
const LAST = [
  'Schmidt',
  'Watanabe',
  'Okafor',
  'Rossi',
  'Novak',
  'Fernandez',
  'Iyer',
  'Berg',
  'Haddad',
  'Moreau',
  'Kowalski',
  'Lindqvist',
  'Tanaka',
  'Mensah',
  'Costa',
  'Dubois',
  'Petrov',
  'Khan',
];
const PLACES = [
  'Porto',
  'Nairobi',
  'Osaka',
  'Valparaíso',
  'Kraków',
  'Montreal',
  'Tbilisi',
  'Bergen',
  'Hanoi',
  'Marseille',
  'Cusco',
  'Reykjavík',
  'Ljubljana',
  'Accra',
  'Brisbane',
  'Edinburgh',
  'Lyon',
  'Pune',
];
const PASTIMES = [
  'the cello',
  'rock climbing',
  'pottery',
  'the violin',
  'marathon running',
  'chess',
  'sailing',
  'beekeeping',
  'salsa dancing',
  'oil painting',
  'the piano',
  'judo',
  'birdwatching',
  'surfing',
];
const RELATIONS = ['friend', 'sister', 'brother', 'cousin', 'colleague', 'neighbour', 'aunt'];
const JOBS = ['a nurse', 'an architect', 'a chef', 'a teacher', 'a pilot', 'a vet', 'an engineer'];

const pick = <T>(list: readonly T[], n: number): T => list[n % list.length];

export function factMessage(user: number, n: number): string {
  const k = user * 7919 + n * 104729;
  const name = `${pick(FIRST, k)} ${pick(LAST, k >> 3)}`;
  const place = pick(PLACES, k >> 5);
  const year = 1960 + (k % 60);
  switch (n % 4) {
    case 0:
      return `My ${pick(RELATIONS, k >> 2)} ${name} from ${place} started ${pick(PASTIMES, k >> 4)} in ${year}.`;
    case 1:
      return `My ${pick(RELATIONS, k >> 2)} ${name} works as ${pick(JOBS, k >> 4)} in ${place} now.`;
    case 2:
      return `I visited ${place} with ${name} in ${year} and we want to go back next spring. What should we see?`;
    default:
      return `My favourite hobby since ${year} is ${pick(PASTIMES, k >> 4)}, which ${name} taught me in ${place}.`;
  }
}
