import { RevokedToken } from './entities/revoked-token.entity';
import { User } from './entities/user.entity';
import { CreateUsers1764000000000 } from './migrations/1764000000000-create-users';

/** Listed explicitly (no globs) so that the build, jest and the TypeORM CLI all see the same set. */
export const ENTITIES = [User, RevokedToken];
export const MIGRATIONS = [CreateUsers1764000000000];
