import type { DatabaseKind } from '@app/config';
import { Column, ColumnOptions, ColumnType } from 'typeorm';

let longText: ColumnType = 'text';
let binaryCollation: string | undefined;

/**
 * Chooses the column types that differ between dialects. TypeORM reads column types when a
 * DataSource builds its metadata, so this runs just before (see dataSourceOptions).
 */
export function useDialectColumnTypes(kind: DatabaseKind): void {
  longText = longTextType(kind);
  binaryCollation = binaryCollationFor(kind);
}

/**
 * Compares byte for byte. MySQL/MariaDB's default collations treat `álice`, `ALICE` and `alice`
 * as equal, SQLite does not: identities are canonicalised by the app and compared exactly here.
 */
export function binaryCollationFor(kind: DatabaseKind): string | undefined {
  return kind === 'sqlite' ? undefined : 'utf8mb4_bin';
}

/** A varchar compared byte for byte on every dialect (see binaryCollationFor). */
export function ExactTextColumn(
  options: Omit<ColumnOptions, 'type' | 'collation'> & { length: number },
): PropertyDecorator {
  return Column({
    ...options,
    type: 'varchar',
    get collation() {
      return binaryCollation;
    },
  });
}

/** MySQL's TEXT holds 64 KiB and a model reply may be longer; SQLite's TEXT has no such limit. */
export function longTextType(kind: DatabaseKind): 'text' | 'longtext' {
  return kind === 'sqlite' ? 'text' : 'longtext';
}

/** A text column of any length, on every dialect. */
export function LongTextColumn(options: Omit<ColumnOptions, 'type'> = {}): PropertyDecorator {
  return Column({
    ...options,
    get type() {
      return longText;
    },
  });
}
