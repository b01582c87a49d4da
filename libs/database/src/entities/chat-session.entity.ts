import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { ExactTextColumn } from '../columns';
import { User } from './user.entity';

@Entity('chat_sessions')
@Index('IDX_chat_sessions_user_updated_id', ['userId', 'updatedAt', 'id'])
@Index('UQ_chat_sessions_user_client_key', ['userId', 'clientKey'], { unique: true })
export class ChatSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_chat_sessions_user' })
  user?: User;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  /**
   * The client's own name for the conversation (OpenAI-compatible routes: see
   * apps/api/src/chat/openai), unique per user; null for sessions made through the REST API.
   */
  @ExactTextColumn({ name: 'client_key', length: 191, nullable: true })
  clientKey?: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** Last activity: creation, a new message or a rename. Lists are ordered by it. */
  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
