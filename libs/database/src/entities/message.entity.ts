import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { LongTextColumn } from '../columns';
import { ChatSession } from './chat-session.entity';
import { User } from './user.entity';

export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

@Entity('messages')
@Index('IDX_messages_session_created_id', ['sessionId', 'createdAt', 'id'])
@Index('IDX_messages_user_id', ['userId'])
export class Message {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  @ManyToOne(() => ChatSession, { onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'FK_messages_session' })
  session?: ChatSession;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_messages_user' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  role!: MessageRole;

  @LongTextColumn()
  content!: string;

  /** The model that wrote an assistant message. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  model!: string | null;

  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true })
  promptTokens!: number | null;

  @Column({ name: 'completion_tokens', type: 'integer', nullable: true })
  completionTokens!: number | null;

  /** Time the model took to answer, for assistant messages. */
  @Column({ name: 'latency_ms', type: 'integer', nullable: true })
  latencyMs!: number | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
