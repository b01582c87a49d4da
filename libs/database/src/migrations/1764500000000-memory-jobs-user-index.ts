import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * A worker batching a session's due jobs reads the user's pending jobs oldest first: with
 * created_at in the (user_id, status) index that read needs no sort. The new index is made before
 * the old one goes, because MySQL/MariaDB need an index on user_id for the foreign key.
 */
export class MemoryJobsUserIndex1764500000000 implements MigrationInterface {
  name = 'MemoryJobsUserIndex1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'memory_jobs',
      new TableIndex({
        name: 'IDX_memory_jobs_user_status_created',
        columnNames: ['user_id', 'status', 'created_at'],
      }),
    );
    await queryRunner.dropIndex('memory_jobs', 'IDX_memory_jobs_user_status');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'memory_jobs',
      new TableIndex({ name: 'IDX_memory_jobs_user_status', columnNames: ['user_id', 'status'] }),
    );
    await queryRunner.dropIndex('memory_jobs', 'IDX_memory_jobs_user_status_created');
  }
}
