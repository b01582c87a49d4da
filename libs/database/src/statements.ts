import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/** better-sqlite3's statement, as used here. */
interface SqliteStatement {
  reader: boolean;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number };
}

/** mysql2's callback connection (pooled), as used here. */
interface MysqlConnection {
  execute(
    sql: string,
    params: unknown[],
    callback: (error: Error | null, result: unknown) => void,
  ): void;
  release(): void;
}

/** What a statement gave back: the rows of a read, the number of rows a write changed. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  affected: number;
}

/** An entity's columns, with TypeORM's own conversions of their values. */
interface Shape {
  table: string;
  /** Loaded rows are instances of the entity class, as TypeORM's are. */
  prototype: object | null;
  columns: ColumnMetadata[];
  byProperty: Map<string, ColumnMetadata>;
  insert: string;
}

/**
 * The few statements of a chat turn's hot path (and its extraction job's), without TypeORM's
 * query builder, which cost more CPU than the database did: constant SQL (never built from
 * input: every distinct text is kept prepared), prepared once (SQLite:
 * better-sqlite3 statements kept here; MySQL/MariaDB: mysql2's `execute`, which keeps them per
 * connection), on the connection of the caller's transaction. Values are converted to and from
 * the database by TypeORM's driver and column metadata, exactly as the query builder converts
 * them. Writes still go through `Transactions`: `runIn` and `insertIn` take the manager it hands
 * out (or the data source's own, for `Transactions.write` and plain reads). Errors are the driver's own, which
 * query-errors.ts reads as it reads TypeORM's wrapped ones.
 */
@Injectable()
export class Statements {
  private readonly sqlite: boolean;
  private readonly prepared = new Map<string, SqliteStatement>();
  private readonly quoted = new Map<string, string>();
  private readonly shapes = new Map<EntityTarget<ObjectLiteral>, Shape>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.sqlite = dataSource.options.type === 'better-sqlite3';
  }

  /**
   * SQL with its identifiers quoted for the dialect (backticks on MySQL/MariaDB, double quotes on
   * SQLite), as TypeORM writes its own: each `{name}` in `template` becomes the quoted name.
   */
  sql(template: string): string {
    let sql = this.quoted.get(template);
    if (sql === undefined) {
      sql = template.replace(/\{(\w+)\}/g, (_, name: string) =>
        this.dataSource.driver.escape(name),
      );
      this.quoted.set(template, sql);
    }
    return sql;
  }

  /** `SELECT ... FOR SHARE` on MySQL/MariaDB; nothing on SQLite, whose writes run one at a time. */
  get shareLock(): string {
    return this.sqlite ? '' : ' LOCK IN SHARE MODE';
  }

  /** `SELECT ... FOR UPDATE` on MySQL/MariaDB; nothing on SQLite, whose writes run one at a time. */
  get updateLock(): string {
    return this.sqlite ? '' : ' FOR UPDATE';
  }

  /** Runs one statement with `?` placeholders in the manager's transaction (or autocommit). */
  async runIn(manager: EntityManager, sql: string, params: unknown[]): Promise<StatementResult> {
    // Logged like TypeORM's own statements (off in production; the query-plan test reads them).
    this.dataSource.logger.logQuery(sql, params);
    if (this.sqlite) return this.runSqlite(sql, params);
    const runner = manager.queryRunner;
    if (runner && !runner.isReleased) {
      return this.runMysql((await runner.connect()) as MysqlConnection, sql, params);
    }
    const driver = this.dataSource.driver as unknown as {
      obtainMasterConnection(): Promise<MysqlConnection>;
    };
    const connection = await driver.obtainMasterConnection();
    try {
      return await this.runMysql(connection, sql, params);
    } finally {
      connection.release();
    }
  }

  /** Inserts one row of `entity`: every column must have a value (null for SQL NULL). */
  async insertIn<T extends ObjectLiteral>(
    manager: EntityManager,
    entity: EntityTarget<T>,
    row: T,
  ): Promise<void> {
    const shape = this.shape(entity);
    const values = shape.columns.map((column) => {
      const value: unknown = row[column.propertyName];
      // TypeORM would store the column's default; this insert names every column.
      if (value === undefined)
        throw new Error(`No value for ${shape.table}.${column.databaseName}`);
      return this.toDatabase(column, value);
    });
    await this.runIn(manager, shape.insert, values);
  }

  /** Rows of `entity` as TypeORM would load them: `sql` selects the table's columns (`*`). */
  async select<T extends ObjectLiteral>(
    manager: EntityManager,
    entity: EntityTarget<T>,
    sql: string,
    params: unknown[],
  ): Promise<T[]> {
    const { rows } = await this.runIn(manager, sql, params);
    return rows.map((raw) => this.entityOf(entity, raw));
  }

  /** A raw row read by `runIn` as TypeORM would load it (columns not of `entity` are left out). */
  entityOf<T extends ObjectLiteral>(entity: EntityTarget<T>, raw: Record<string, unknown>): T {
    const shape = this.shape(entity);
    const { driver } = this.dataSource;
    const row = Object.create(shape.prototype) as Record<string, unknown>;
    for (const column of shape.columns) {
      const value = raw[column.databaseName];
      if (value !== undefined)
        row[column.propertyName] = driver.prepareHydratedValue(value, column);
    }
    return row as T;
  }

  /** `value` of `entity`'s `property` as the database stores it (a parameter of `runIn`). */
  value<T extends ObjectLiteral>(entity: EntityTarget<T>, property: keyof T, value: unknown) {
    return this.toDatabase(this.column(entity, property), value);
  }

  /** A value `runIn` read from `entity`'s `property` column, as TypeORM would load it. */
  hydrate<T extends ObjectLiteral>(
    entity: EntityTarget<T>,
    property: keyof T,
    value: unknown,
  ): unknown {
    return this.dataSource.driver.prepareHydratedValue(value, this.column(entity, property));
  }

  private column<T extends ObjectLiteral>(entity: EntityTarget<T>, property: keyof T) {
    const column = this.shape(entity).byProperty.get(property as string);
    if (!column) throw new Error(`No column for ${String(property)}`);
    return column;
  }

  private toDatabase(column: ColumnMetadata, value: unknown): unknown {
    const stored: unknown = this.dataSource.driver.preparePersistentValue(value, column);
    // better-sqlite3 binds no booleans (TypeORM's query runner makes them 0/1 too).
    return typeof stored === 'boolean' ? Number(stored) : (stored ?? null);
  }

  private shape(entity: EntityTarget<ObjectLiteral>): Shape {
    let shape = this.shapes.get(entity);
    if (!shape) {
      const metadata = this.dataSource.getMetadata(entity);
      const columns = metadata.columns.filter((c) => !c.isVirtual);
      const { driver } = this.dataSource;
      const names = columns.map((c) => driver.escape(c.databaseName)).join(', ');
      shape = {
        table: metadata.tableName,
        prototype:
          typeof metadata.target === 'function'
            ? (metadata.target.prototype as object)
            : Object.prototype,
        columns,
        byProperty: new Map(columns.map((c) => [c.propertyName, c])),
        insert:
          `INSERT INTO ${driver.escape(metadata.tableName)} (${names}) ` +
          `VALUES (${columns.map(() => '?').join(', ')})`,
      };
      this.shapes.set(entity, shape);
    }
    return shape;
  }

  private runSqlite(sql: string, params: unknown[]): StatementResult {
    let statement = this.prepared.get(sql);
    if (!statement) {
      const handle = (
        this.dataSource.driver as unknown as {
          databaseConnection: { prepare(sql: string): SqliteStatement };
        }
      ).databaseConnection;
      statement = handle.prepare(sql);
      this.prepared.set(sql, statement);
    }
    if (statement.reader) return { rows: statement.all(...params), affected: 0 };
    return { rows: [], affected: statement.run(...params).changes };
  }

  private runMysql(
    connection: MysqlConnection,
    sql: string,
    params: unknown[],
  ): Promise<StatementResult> {
    return new Promise((resolve, reject) =>
      connection.execute(sql, params, (error, result) => {
        if (error) return reject(error);
        if (Array.isArray(result))
          resolve({ rows: result as Record<string, unknown>[], affected: 0 });
        else
          resolve({ rows: [], affected: (result as { affectedRows?: number }).affectedRows ?? 0 });
      }),
    );
  }
}
