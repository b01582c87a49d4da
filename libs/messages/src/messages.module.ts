import { Message } from '@app/database';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { MessagesRepository } from './messages.repository';

/** The owner of the `messages` table: every module that reads or writes messages imports this. */
@Module({
  imports: [TypeOrmModule.forFeature([Message])],
  providers: [MessagesRepository],
  exports: [MessagesRepository],
})
export class MessagesModule {}
