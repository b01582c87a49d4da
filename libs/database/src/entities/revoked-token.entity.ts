import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity';

/** A token refused before its expiry (logout). Rows past `expiresAt` can be pruned. */
@Entity('revoked_tokens')
@Index('IDX_revoked_tokens_expires_at', ['expiresAt'])
@Index('IDX_revoked_tokens_user_id', ['userId'])
export class RevokedToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  jti!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_revoked_tokens_user' })
  user?: User;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;
}
