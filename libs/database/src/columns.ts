import type { DatabaseKind } from '@app/config';
import { Column, ColumnOptions, ColumnType } from 'typeorm';

let longText: ColumnType = 'text';

/**
 * Chooses the column types that differ between dialects. TypeORM reads column types when a
 * DataSource builds its metadata, so this runs just before (see dataSourceOptions).
 */
export function useDialectColumnTypes(kind: DatabaseKind): void {
  longText = longTextType(kind);
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
