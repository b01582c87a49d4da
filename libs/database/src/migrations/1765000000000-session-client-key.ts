import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * A session can be named by the client that holds the conversation (the OpenAI-compatible routes:
 * Open WebUI's chat id, or one session per API key and day): `client_key`, unique per user,
 * compared byte for byte. Sessions made through the REST API have none (NULL, any number of them).
 */
export class SessionClientKey1765000000000 implements MigrationInterface {
  name = 'SessionClientKey1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type !== 'better-sqlite3';
    if (mysql) {
      await queryRunner.query(
        'ALTER TABLE chat_sessions ADD client_key varchar(191) ' +
          'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
      );
    } else {
      await queryRunner.addColumn(
        'chat_sessions',
        new TableColumn({ name: 'client_key', type: 'varchar', length: '191', isNullable: true }),
      );
    }
    await queryRunner.createIndex(
      'chat_sessions',
      new TableIndex({
        name: 'UQ_chat_sessions_user_client_key',
        columnNames: ['user_id', 'client_key'],
        isUnique: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('chat_sessions', 'UQ_chat_sessions_user_client_key');
    await queryRunner.dropColumn('chat_sessions', 'client_key');
  }
}
