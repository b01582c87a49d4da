import { isUniqueViolation, Statements, Transactions, User } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly tx: Transactions,
    private readonly statements: Statements,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /**
   * A token's holder in one statement, the only query of an authenticated request: the user
   * (null when gone) and whether the token's id is on the revoked list. Prepared once; no cache,
   * so a logout, a disable or a token-version bump counts at once on every replica.
   */
  async findTokenHolder(id: string, jti: string): Promise<{ user: User | null; revoked: boolean }> {
    const { rows } = await this.statements.runIn(
      this.users.manager,
      this.statements.sql(
        'SELECT {users}.*, (SELECT COUNT(*) FROM {revoked_tokens} WHERE {jti} = ?) AS {revoked} ' +
          'FROM {users} WHERE {id} = ?',
      ),
      [jti, id],
    );
    if (rows.length === 0) return { user: null, revoked: false };
    return { user: this.statements.entityOf(User, rows[0]), revoked: Number(rows[0].revoked) > 0 };
  }

  /** `login` is a canonical username or email (identity.ts), compared exactly. */
  findByLogin(login: string): Promise<User | null> {
    return this.users.findOne({ where: [{ username: login }, { email: login }] });
  }

  /** The accounts holding this username, this email, or a username with this skeleton. */
  findByIdentity(username: string, email: string, usernameKey: string): Promise<User[]> {
    return this.users.find({ where: [{ username }, { email }, { usernameKey }] });
  }

  /**
   * Inside the caller's transaction: a shared lock on the user row (first, by the locking rules),
   * which keeps the user from being deleted or disabled until the transaction ends. False when
   * the user no longer exists or is disabled.
   */
  async holdActive(manager: EntityManager, id: string): Promise<boolean> {
    // Every turn runs it twice: a prepared statement rather than TypeORM's query builder. SQLite
    // has no row locks (shareLock is empty there): its writes run one at a time (Transactions).
    const { rows } = await this.statements.runIn(
      manager,
      this.statements.sql(`SELECT {disabled} FROM {users} WHERE {id} = ?`) +
        this.statements.shareLock,
      [id],
    );
    return rows.length > 0 && !this.statements.hydrate(User, 'disabled', rows[0].disabled);
  }

  /**
   * Inside the caller's transaction: an exclusive lock on the user row, for work that must count
   * the user's rows and insert one without another transaction doing the same meanwhile (two
   * shared locks would both pass). Answers the user's token_version, or null when the user no
   * longer exists or is disabled.
   */
  async holdExclusively(manager: EntityManager, id: string): Promise<number | null> {
    const { rows } = await this.statements.runIn(
      manager,
      this.statements.sql(`SELECT {disabled}, {token_version} FROM {users} WHERE {id} = ?`) +
        this.statements.updateLock,
      [id],
    );
    if (rows.length === 0 || this.statements.hydrate(User, 'disabled', rows[0].disabled)) {
      return null;
    }
    return Number(rows[0].token_version);
  }

  /** False when a concurrent insert took the username, its skeleton or the email first. */
  async insert(user: User): Promise<boolean> {
    try {
      await this.tx.write('users.insert', (manager) => manager.insert(User, user));
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * Applies `changes`; with `revokeTokens` also bumps token_version in the same statement, so
   * every token issued before is refused. False when the user does not exist.
   */
  async update(
    id: string,
    changes: Partial<Pick<User, 'passwordHash' | 'role' | 'disabled'>>,
    options: { revokeTokens?: boolean } = {},
  ): Promise<boolean> {
    const result = await this.tx.write('users.update', (manager) =>
      manager
        .createQueryBuilder()
        .update(User)
        .set({
          ...changes,
          updatedAt: new Date(),
          ...(options.revokeTokens ? { tokenVersion: () => 'token_version + 1' } : {}),
        })
        .where('id = :id', { id })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  findPage(limit: number, offset: number): Promise<[User[], number]> {
    return this.users.findAndCount({
      order: { createdAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }
}
