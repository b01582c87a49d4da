import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * A session's messages and a user's sessions are paged in (time, id) order. MySQL/MariaDB append
 * the primary key to every secondary index, SQLite does not: there the id tie-break made every
 * page (a turn's history window included) read and sort all of the session's messages. With the
 * id in the index both read just the page. Each new index is made before the old one goes, since
 * MySQL/MariaDB need an index on the foreign key's column.
 */
export class OrderTiebreakIndexes1764600000000 implements MigrationInterface {
  name = 'OrderTiebreakIndexes1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.swap(queryRunner, 'messages', INDEXES.messages.old, INDEXES.messages.new);
    await this.swap(queryRunner, 'chat_sessions', INDEXES.sessions.old, INDEXES.sessions.new);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.swap(queryRunner, 'messages', INDEXES.messages.new, INDEXES.messages.old);
    await this.swap(queryRunner, 'chat_sessions', INDEXES.sessions.new, INDEXES.sessions.old);
  }

  private async swap(
    queryRunner: QueryRunner,
    table: string,
    from: TableIndex,
    to: TableIndex,
  ): Promise<void> {
    await queryRunner.createIndex(table, to.clone());
    await queryRunner.dropIndex(table, from.name!);
  }
}

const INDEXES = {
  messages: {
    old: new TableIndex({
      name: 'IDX_messages_session_created',
      columnNames: ['session_id', 'created_at'],
    }),
    new: new TableIndex({
      name: 'IDX_messages_session_created_id',
      columnNames: ['session_id', 'created_at', 'id'],
    }),
  },
  sessions: {
    old: new TableIndex({
      name: 'IDX_chat_sessions_user_updated',
      columnNames: ['user_id', 'updated_at'],
    }),
    new: new TableIndex({
      name: 'IDX_chat_sessions_user_updated_id',
      columnNames: ['user_id', 'updated_at', 'id'],
    }),
  },
};
