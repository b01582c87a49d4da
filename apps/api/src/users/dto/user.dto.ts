import { ROLES, type Role, User } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

/** A user as every endpoint shows it: never the password hash. */
export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() username!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(user: Pick<User, 'id' | 'username' | 'email' | 'role' | 'createdAt'>): UserDto {
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      role: user.role,
      created_at: user.createdAt.toISOString(),
    };
  }
}
