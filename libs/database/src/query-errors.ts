import { QueryFailedError } from 'typeorm';

/** The driver's error code, whether TypeORM wrapped the error (a query) or not (BEGIN, COMMIT). */
function driverCode(error: unknown): string | undefined {
  const source = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  const code =
    typeof source === 'object' && source !== null ? (source as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** A unique or primary key was already taken (MySQL/MariaDB or SQLite). */
export function isUniqueViolation(error: unknown): boolean {
  const code = driverCode(error);
  return (
    code === 'ER_DUP_ENTRY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** A row referred to a parent that does not exist (any more). */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = driverCode(error);
  return (
    code === 'ER_NO_REFERENCED_ROW_2' ||
    code === 'ER_NO_REFERENCED_ROW' ||
    code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
  );
}

/** The database gave up on a lock: a deadlock victim (1213) or a lock wait timeout (1205). */
export function isLockConflict(error: unknown): boolean {
  const code = driverCode(error);
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/**
 * An error that says only "another transaction was in the way": a lock conflict on MySQL/MariaDB,
 * SQLITE_BUSY or SQLITE_LOCKED (and their extended codes) on SQLite. Running the whole transaction
 * again is the answer the database expects.
 */
export function isTransientConflict(error: unknown): boolean {
  if (isLockConflict(error)) return true;
  const code = driverCode(error);
  return code !== undefined && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code);
}
