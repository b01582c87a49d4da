import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Mem0's stores on MySQL/MariaDB (issue 14): vectors of every collection (memories and their
 * entities), a little store metadata, the memory history and the raw messages Mem0 keeps, so that
 * replicas share them. SQLite deployments keep Mem0's own files under DATA_DIR: nothing is made
 * there. Character sets and collations are spelled out on every table, so the server's defaults
 * cannot change what compares equal: ids, users and scopes byte for byte, the indexed text
 * case-insensitively. The FULLTEXT index is made without stopwords (the session setting at
 * creation time is what InnoDB keeps with the index), so that "about" or "will" are found.
 */
export class Mem0SqlStores1764800000000 implements MigrationInterface {
  name = 'Mem0SqlStores1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'better-sqlite3') return;
    const [{ stopwords }] = (await queryRunner.query(
      'SELECT @@SESSION.innodb_ft_enable_stopword AS stopwords',
    )) as { stopwords: number | string }[];
    await queryRunner.query('SET SESSION innodb_ft_enable_stopword = OFF');
    try {
      await queryRunner.query(`
        CREATE TABLE mem0_vectors (
          collection varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          owner varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
          seq bigint unsigned NOT NULL AUTO_INCREMENT,
          id varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
          vector mediumblob NOT NULL,
          payload longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
          tokens int unsigned NOT NULL,
          keywords mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
          PRIMARY KEY (collection, owner, seq),
          UNIQUE KEY UQ_mem0_vectors_id (collection, id),
          KEY IDX_mem0_vectors_seq (seq),
          FULLTEXT KEY FT_mem0_vectors_keywords (keywords)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    } finally {
      await queryRunner.query(`SET SESSION innodb_ft_enable_stopword = ${Number(stopwords)}`);
    }
    await queryRunner.query(`
      CREATE TABLE mem0_store_meta (
        name varchar(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        value varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        PRIMARY KEY (name)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE mem0_history (
        id bigint unsigned NOT NULL AUTO_INCREMENT,
        memory_id varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        previous_value longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
        new_value longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
        action varchar(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        created_at varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        updated_at varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        is_deleted tinyint NOT NULL DEFAULT 0,
        PRIMARY KEY (id),
        KEY IDX_mem0_history_memory (memory_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE mem0_messages (
        seq bigint unsigned NOT NULL AUTO_INCREMENT,
        id char(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        session_scope varchar(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        owner varchar(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        role varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        content longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
        name varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        created_at varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        PRIMARY KEY (seq),
        UNIQUE KEY UQ_mem0_messages_id (id),
        KEY IDX_mem0_messages_scope (session_scope, created_at, seq),
        KEY IDX_mem0_messages_owner (owner)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'better-sqlite3') return;
    for (const table of ['mem0_messages', 'mem0_history', 'mem0_store_meta', 'mem0_vectors']) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
