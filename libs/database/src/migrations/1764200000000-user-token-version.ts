import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * `token_version` is copied into every token as `ver`; bumping it refuses every token issued
 * before (password reset, role change, disabling). `disabled` users can neither log in nor use
 * a token.
 */
export class UserTokenVersion1764200000000 implements MigrationInterface {
  name = 'UserTokenVersion1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('users', [
      new TableColumn({ name: 'token_version', type: 'integer', default: 0 }),
      // '0', not false: both dialects then read back the default the entity declares.
      new TableColumn({ name: 'disabled', type: 'boolean', default: '0' }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('users', ['disabled', 'token_version']);
  }
}
