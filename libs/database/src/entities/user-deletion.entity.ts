import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A deletion whose erasure finished is removed; one that keeps failing stays `failed`. */
export const USER_DELETION_STATUSES = ['pending', 'failed'] as const;
export type UserDeletionStatus = (typeof USER_DELETION_STATUSES)[number];

/**
 * A deleted user whose data outside the database (their mem0 memories) is still to be erased.
 * Written in the same transaction that deletes the user row, so no deletion is ever half-done
 * without a trace. `user_id` has no foreign key: the user row is already gone.
 */
@Entity('user_deletions')
@Index('IDX_user_deletions_status_run_at', ['status', 'runAt'])
@Index('IDX_user_deletions_user_id', ['userId'])
export class UserDeletion {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: UserDeletionStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 1000, nullable: true })
  lastError!: string | null;

  /** When the next erasure attempt is due (while one runs: when its claim expires). */
  @Column({ name: 'run_at', type: 'datetime', precision: 3 })
  runAt!: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
