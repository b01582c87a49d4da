import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, Matches, MaxLength } from 'class-validator';

import { UserDto } from '../../users/dto/user.dto';
import { IsNotCommonPassword } from './password.validator';

export class RegisterDto {
  @ApiProperty({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$', example: 'alice' })
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{3,32}$/, {
    message: 'username must be 3-32 characters of letters, digits, "_", "." or "-"',
  })
  username!: string;

  @ApiProperty({ format: 'email', maxLength: 254, example: 'alice@example.com' })
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email!: string;

  @ApiProperty({ minLength: 8, maxLength: 128, example: 'correct horse battery staple' })
  @IsString()
  @Length(8, 128, { message: 'password must be 8-128 characters' })
  @IsNotCommonPassword()
  password!: string;
}

export class LoginDto {
  @ApiProperty({ description: 'Username or email', example: 'alice' })
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
