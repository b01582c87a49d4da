import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity';

/**
 * A personal API key. The key itself is shown once, when it is made, and never stored: only the
 * SHA-256 of the whole key (unique: the lookup of every request that presents one) and a short
 * prefix of it, for people to tell their keys apart.
 */
@Entity('api_keys')
@Index('UQ_api_keys_key_hash', ['keyHash'], { unique: true })
@Index('IDX_api_keys_user_created', ['userId', 'createdAt', 'id'])
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_api_keys_user' })
  user?: User;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** `cbk_` and the first characters of the random part: enough to recognise, useless to guess. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  /** SHA-256 of the whole key, lower-case hex. */
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  /** The user's token_version when the key was made: a bump (password reset, revoke) ends it. */
  @Column({ name: 'token_version', type: 'integer' })
  tokenVersion!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** Updated at most once a minute (ApiKeysService), so it is never more than that behind. */
  @Column({ name: 'last_used_at', type: 'datetime', precision: 3, nullable: true })
  lastUsedAt!: Date | null;

  /** Null: never expires. */
  @Column({ name: 'expires_at', type: 'datetime', precision: 3, nullable: true })
  expiresAt!: Date | null;
}
