import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

import { longTextType } from '../columns';

const datetime = (name: string, isNullable = false) => ({
  name,
  type: 'datetime',
  precision: 3,
  isNullable,
});
const id = (name: string, isNullable = false) => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable,
});
const cascadeTo = (name: string, column: string, table: string) =>
  new TableForeignKey({
    name,
    columnNames: [column],
    referencedTableName: table,
    referencedColumnNames: ['id'],
    onDelete: 'CASCADE',
    onUpdate: 'NO ACTION',
  });

/** Chat sessions, their messages, and the durable memory-extraction queue. */
export class CreateChat1764100000000 implements MigrationInterface {
  name = 'CreateChat1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isSqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.createTable(
      new Table({
        name: 'chat_sessions',
        columns: [
          { ...id('id'), isPrimary: true },
          id('user_id'),
          { name: 'title', type: 'varchar', length: '200' },
          datetime('created_at'),
          datetime('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_chat_sessions_user_updated',
            columnNames: ['user_id', 'updated_at'],
          }),
        ],
        foreignKeys: [cascadeTo('FK_chat_sessions_user', 'user_id', 'users')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'messages',
        columns: [
          { ...id('id'), isPrimary: true },
          id('session_id'),
          id('user_id'),
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'content', type: longTextType(isSqlite ? 'sqlite' : 'mysql') },
          { name: 'model', type: 'varchar', length: '200', isNullable: true },
          { name: 'prompt_tokens', type: 'integer', isNullable: true },
          { name: 'completion_tokens', type: 'integer', isNullable: true },
          { name: 'latency_ms', type: 'integer', isNullable: true },
          datetime('created_at'),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_messages_session_created',
            columnNames: ['session_id', 'created_at'],
          }),
          new TableIndex({ name: 'IDX_messages_user_id', columnNames: ['user_id'] }),
        ],
        foreignKeys: [
          cascadeTo('FK_messages_session', 'session_id', 'chat_sessions'),
          cascadeTo('FK_messages_user', 'user_id', 'users'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'memory_jobs',
        columns: [
          { ...id('id'), isPrimary: true },
          id('user_id'),
          id('session_id'),
          id('message_id'),
          id('reply_id'),
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          datetime('run_at'),
          datetime('lease_until', true),
          { name: 'locked_by', type: 'varchar', length: '64', isNullable: true },
          id('running_user_id', true),
          { name: 'last_error', type: 'varchar', length: '1000', isNullable: true },
          datetime('created_at'),
          datetime('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_memory_jobs_status_run_at',
            columnNames: ['status', 'run_at'],
          }),
          new TableIndex({
            name: 'IDX_memory_jobs_user_status',
            columnNames: ['user_id', 'status'],
          }),
          new TableIndex({
            name: 'UQ_memory_jobs_running_user',
            columnNames: ['running_user_id'],
            isUnique: true,
          }),
        ],
        foreignKeys: [cascadeTo('FK_memory_jobs_user', 'user_id', 'users')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('memory_jobs');
    await queryRunner.dropTable('messages');
    await queryRunner.dropTable('chat_sessions');
  }
}
