import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Deleted users whose memories are still to be erased (no foreign key: the user is gone). */
export class UserDeletions1764300000000 implements MigrationInterface {
  name = 'UserDeletions1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'user_deletions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'last_error', type: 'varchar', length: '1000', isNullable: true },
          { name: 'run_at', type: 'datetime', precision: 3 },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_user_deletions_status_run_at',
            columnNames: ['status', 'run_at'],
          }),
          new TableIndex({ name: 'IDX_user_deletions_user_id', columnNames: ['user_id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('user_deletions');
  }
}
