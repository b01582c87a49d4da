import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Usernames and emails compared byte for byte (MySQL/MariaDB compared them case- and
 * accent-insensitively, so `álice` logged in as `alice`), and each username's look-alike skeleton,
 * unique. Existing usernames get their skeleton; when two already look alike, the later one keeps
 * its own name as its key (it stays usable, and nobody can register a third look-alike).
 */
export class UserIdentity1764700000000 implements MigrationInterface {
  name = 'UserIdentity1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type !== 'better-sqlite3';
    await queryRunner.addColumn(
      'users',
      new TableColumn({ name: 'username_key', type: 'varchar', length: '64', isNullable: true }),
    );
    const users = (await queryRunner.query(
      'SELECT id, username FROM users ORDER BY created_at, id',
    )) as { id: string; username: string }[];
    const taken = new Set<string>();
    for (const { id, username } of users) {
      let key = skeletonAtThisVersion(username);
      if (taken.has(key)) key = `=${username}`;
      taken.add(key);
      await queryRunner.query('UPDATE users SET username_key = ? WHERE id = ?', [key, id]);
    }
    if (mysql) {
      await queryRunner.query(
        'ALTER TABLE users ' +
          'MODIFY username varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ' +
          'MODIFY email varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ' +
          'MODIFY username_key varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
      );
    } else {
      await queryRunner.changeColumn(
        'users',
        'username_key',
        new TableColumn({ name: 'username_key', type: 'varchar', length: '64' }),
      );
    }
    await queryRunner.createIndex(
      'users',
      new TableIndex({
        name: 'UQ_users_username_key',
        columnNames: ['username_key'],
        isUnique: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('users', 'UQ_users_username_key');
    await queryRunner.dropColumn('users', 'username_key');
    if (queryRunner.connection.options.type !== 'better-sqlite3') {
      await queryRunner.query(
        'ALTER TABLE users ' +
          'MODIFY username varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, ' +
          'MODIFY email varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL',
      );
    }
  }
}

/** The skeleton as it was defined when this migration was written (migrations do not change). */
function skeletonAtThisVersion(username: string): string {
  const map: Record<string, string> = { '0': 'o', '1': 'l', i: 'l' };
  return username
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/[_.-]/g, '')
    .replace(/[01i]/g, (c) => map[c]);
}
