import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';

import {
  Canonical,
  IsPlainEmail,
  IsRegistrableUsername,
} from '../../users/dto/identity.validators';
import { UserDto } from '../../users/dto/user.dto';
import { IsNotCommonPassword } from './password.validator';

/** Usernames and emails are canonicalised (NFKC, trimmed, lower case) before they are checked. */
export class RegisterDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 32,
    pattern: '^[A-Za-z0-9_.-]+$',
    example: 'alice',
    description: 'Stored in lower case; must not look like an existing or reserved name',
  })
  @Canonical()
  @IsString()
  @IsRegistrableUsername()
  username!: string;

  @ApiProperty({ format: 'email', maxLength: 254, example: 'alice@example.com' })
  @Canonical()
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @IsPlainEmail()
  email!: string;

  @ApiProperty({ minLength: 8, maxLength: 128, example: 'correct horse battery staple' })
  @IsString()
  @Length(8, 128, { message: 'password must be 8-128 characters' })
  @IsNotCommonPassword()
  password!: string;
}

export class LoginDto {
  @ApiProperty({ description: 'Username or email (any case)', example: 'alice' })
  @Canonical()
  @IsString()
  @Length(1, 254)
  username!: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 128)
  password!: string;
}

export class LoginResponseDto {
  @ApiProperty() access_token!: string;
  @ApiProperty({ enum: ['bearer'] }) token_type!: 'bearer';
  @ApiProperty({ description: 'Seconds until the token expires' }) expires_in!: number;
  @ApiProperty({ type: UserDto }) user!: UserDto;
}
