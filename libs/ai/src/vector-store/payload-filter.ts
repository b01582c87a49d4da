/**
 * mem0's vector-store filter language, evaluated against a stored payload: `{ key: value }` is
 * equality (`"*"` matches anything, an array means "one of"), `{ key: { op: value } }` compares
 * with eq/ne/gt/gte/lt/lte/in/nin/contains/icontains, and AND/OR/NOT (or $and/$or/$not) take lists
 * of filters. Every key of a filter must hold. This is the contract mem0's stores follow, so that a
 * filter means the same thing whichever store runs it.
 */
export type Filters = Record<string, unknown>;
type Payload = Record<string, unknown>;

const LOGICAL: Record<string, 'AND' | 'OR' | 'NOT' | undefined> = {
  AND: 'AND',
  $and: 'AND',
  OR: 'OR',
  $or: 'OR',
  NOT: 'NOT',
  $not: 'NOT',
};

export function matchesFilters(payload: Payload, filters: Filters | undefined): boolean {
  if (!filters) return true;
  const seen = new Set<string>();
  for (const [rawKey, condition] of Object.entries(filters)) {
    const logical = LOGICAL[rawKey];
    // `AND` and `$and` in one filter: the first one written counts, as in mem0's stores.
    const key = logical ?? rawKey;
    if (seen.has(key)) continue;
    seen.add(key);
    if (
      !(logical
        ? matchesLogical(payload, logical, condition)
        : matchesField(payload[key], condition))
    )
      return false;
  }
  return true;
}

function matchesLogical(payload: Payload, operator: 'AND' | 'OR' | 'NOT', list: unknown): boolean {
  if (!Array.isArray(list)) {
    throw new Error(`${operator} filter value must be a list of filter dicts, got ${typeof list}`);
  }
  const each = (filter: unknown) => matchesFilters(payload, filter as Filters);
  if (operator === 'AND') return list.every(each);
  if (operator === 'OR') return list.some(each);
  return !list.some(each);
}

function matchesField(value: unknown, condition: unknown): boolean {
  if (condition === '*') return true;
  if (typeof condition !== 'object' || condition === null) return value === condition;
  if (Array.isArray(condition)) return condition.includes(value);
  // One operator per condition: the first one in this order wins.
  const ops = condition as Record<string, unknown>;
  if ('eq' in ops) return value === ops.eq;
  if ('ne' in ops) return value !== ops.ne;
  // JavaScript's own ordering: numbers numerically, strings by code unit.
  const v = value as number;
  if ('gt' in ops) return v > (ops.gt as number);
  if ('gte' in ops) return v >= (ops.gte as number);
  if ('lt' in ops) return v < (ops.lt as number);
  if ('lte' in ops) return v <= (ops.lte as number);
  if ('in' in ops) return Array.isArray(ops.in) && ops.in.includes(value);
  if ('nin' in ops) return !Array.isArray(ops.nin) || !ops.nin.includes(value);
  if ('contains' in ops) return typeof value === 'string' && value.includes(String(ops.contains));
  if ('icontains' in ops) {
    return (
      typeof value === 'string' && value.toLowerCase().includes(String(ops.icontains).toLowerCase())
    );
  }
  return value === condition;
}
