import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity';

/** A job that succeeds is deleted; one that keeps failing stays as `failed` for people to see. */
export const MEMORY_JOB_STATUSES = ['pending', 'running', 'failed'] as const;
export type MemoryJobStatus = (typeof MEMORY_JOB_STATUSES)[number];

/**
 * One turn's memory extraction, recorded in the same transaction as the reply so that none is
 * lost. `runningUserId` is set only while the job runs; its unique index lets at most one job
 * per user run at a time across every worker process (mem0 stores duplicates otherwise).
 */
@Entity('memory_jobs')
@Index('IDX_memory_jobs_status_run_at', ['status', 'runAt'])
@Index('IDX_memory_jobs_user_status_created', ['userId', 'status', 'createdAt'])
@Index('UQ_memory_jobs_running_user', ['runningUserId'], { unique: true })
export class MemoryJob {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_memory_jobs_user' })
  user?: User;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  /** The user's message of the turn. */
  @Column({ name: 'message_id', type: 'varchar', length: 36 })
  messageId!: string;

  /** The assistant's reply of the turn. */
  @Column({ name: 'reply_id', type: 'varchar', length: 36 })
  replyId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: MemoryJobStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'run_at', type: 'datetime', precision: 3 })
  runAt!: Date;

  @Column({ name: 'lease_until', type: 'datetime', precision: 3, nullable: true })
  leaseUntil!: Date | null;

  @Column({ name: 'locked_by', type: 'varchar', length: 64, nullable: true })
  lockedBy!: string | null;

  @Column({ name: 'running_user_id', type: 'varchar', length: 36, nullable: true })
  runningUserId!: string | null;

  @Column({ name: 'last_error', type: 'varchar', length: 1000, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
