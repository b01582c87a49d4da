import { Authenticated, AuthenticatedUser, AuthUser, Public } from '@app/common';
import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { RateLimit } from '../throttling/rate-limit.decorators';
import { UserDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { LoginDto, LoginResponseDto, RegisterDto } from './dto/auth.dto';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('register')
  @RateLimit('register')
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields' })
  @ApiConflictResponse({ description: 'Username or email already registered' })
  async register(@Body() dto: RegisterDto): Promise<UserDto> {
    return UserDto.from(await this.users.register(dto));
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @RateLimit('login')
  @ApiUnauthorizedResponse({ description: 'Unknown user or wrong password (one message)' })
  async login(@Body() dto: LoginDto, @Ip() address: string): Promise<LoginResponseDto> {
    const issued = await this.auth.login(dto.username, dto.password, address);
    return {
      access_token: issued.accessToken,
      token_type: 'bearer',
      expires_in: issued.expiresIn,
      user: UserDto.from(issued.user),
    };
  }

  @Authenticated()
  @Post('logout')
  @HttpCode(204)
  async logout(@AuthUser() caller: AuthenticatedUser): Promise<void> {
    await this.auth.logout(caller);
  }

  @Authenticated()
  @Get('me')
  me(@AuthUser() caller: AuthenticatedUser): UserDto {
    return UserDto.from(caller);
  }
}
