import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** The admin user list pages by (created_at, id): without this index every page sorted all users. */
export class UsersCreatedIndex1764400000000 implements MigrationInterface {
  name = 'UsersCreatedIndex1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'users',
      new TableIndex({ name: 'IDX_users_created', columnNames: ['created_at', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('users', 'IDX_users_created');
  }
}
