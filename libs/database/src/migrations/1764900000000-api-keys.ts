import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/**
 * Personal API keys (issue 15): only a hash of each key is stored. On MySQL/MariaDB the character
 * sets and collations of the text columns are spelled out, so that a server default cannot change
 * what compares equal: the hash and the prefix are ASCII compared byte for byte, the name is text.
 * `id` and `user_id` keep the table's default, as every other table's ids do, so that the foreign
 * key matches `users.id` exactly (MySQL refuses one between columns of different collations).
 */
export class ApiKeys1764900000000 implements MigrationInterface {
  name = 'ApiKeys1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type !== 'better-sqlite3';
    const ascii = mysql ? { charset: 'ascii', collation: 'ascii_bin' } : {};
    const text = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' } : {};
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '100', ...text },
          { name: 'prefix', type: 'varchar', length: '16', ...ascii },
          { name: 'key_hash', type: 'varchar', length: '64', ...ascii },
          { name: 'token_version', type: 'integer' },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'last_used_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'expires_at', type: 'datetime', precision: 3, isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'UQ_api_keys_key_hash',
            columnNames: ['key_hash'],
            isUnique: true,
          }),
          // A user's keys, newest first (the list), and the count before an insert.
          new TableIndex({
            name: 'IDX_api_keys_user_created',
            columnNames: ['user_id', 'created_at', 'id'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_api_keys_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
            onUpdate: 'NO ACTION',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('api_keys');
  }
}
