import { ObjectLiteral, Repository } from 'typeorm';

/**
 * `SELECT key, COUNT(*) … WHERE key IN (…) GROUP BY key`: only the grouped column and the
 * aggregate are selected, so it is valid under MySQL's ONLY_FULL_GROUP_BY. Keys without rows are
 * absent from the map.
 */
export async function countGrouped<T extends ObjectLiteral>(
  repository: Repository<T>,
  property: keyof T & string,
  keys: string[],
): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const rows = await repository
    .createQueryBuilder('t')
    .select(`t.${property}`, 'group_key')
    .addSelect('COUNT(*)', 'group_count')
    .where(`t.${property} IN (:...keys)`, { keys })
    .groupBy(`t.${property}`)
    .getRawMany<{ group_key: string; group_count: number | string }>();
  // MySQL drivers return COUNT(*) as a string (BIGINT), SQLite as a number.
  return new Map(rows.map((row) => [row.group_key, Number(row.group_count)]));
}
