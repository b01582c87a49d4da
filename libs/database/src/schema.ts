import { ApiKey } from './entities/api-key.entity';
import { ChatSession } from './entities/chat-session.entity';
import { MemoryJob } from './entities/memory-job.entity';
import { Message } from './entities/message.entity';
import { RevokedToken } from './entities/revoked-token.entity';
import { UserDeletion } from './entities/user-deletion.entity';
import { User } from './entities/user.entity';
import { CreateUsers1764000000000 } from './migrations/1764000000000-create-users';
import { CreateChat1764100000000 } from './migrations/1764100000000-create-chat';
import { UserTokenVersion1764200000000 } from './migrations/1764200000000-user-token-version';
import { UserDeletions1764300000000 } from './migrations/1764300000000-user-deletions';
import { UsersCreatedIndex1764400000000 } from './migrations/1764400000000-users-created-index';
import { MemoryJobsUserIndex1764500000000 } from './migrations/1764500000000-memory-jobs-user-index';
import { OrderTiebreakIndexes1764600000000 } from './migrations/1764600000000-order-tiebreak-indexes';
import { UserIdentity1764700000000 } from './migrations/1764700000000-user-identity';
import { Mem0SqlStores1764800000000 } from './migrations/1764800000000-mem0-sql-stores';
import { ApiKeys1764900000000 } from './migrations/1764900000000-api-keys';
import { SessionClientKey1765000000000 } from './migrations/1765000000000-session-client-key';

/** Listed explicitly (no globs) so that the build, jest and the TypeORM CLI all see the same set. */
export const ENTITIES = [User, RevokedToken, ChatSession, Message, MemoryJob, UserDeletion, ApiKey];
export const MIGRATIONS = [
  CreateUsers1764000000000,
  CreateChat1764100000000,
  UserTokenVersion1764200000000,
  UserDeletions1764300000000,
  UsersCreatedIndex1764400000000,
  MemoryJobsUserIndex1764500000000,
  OrderTiebreakIndexes1764600000000,
  UserIdentity1764700000000,
  Mem0SqlStores1764800000000,
  ApiKeys1764900000000,
  SessionClientKey1765000000000,
];
