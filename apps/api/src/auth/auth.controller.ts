import {
  ApiErrors,
  Authenticated,
  AuthenticatedUser,
  AuthUser,
  ErrorCode,
  Public,
} from '@app/common';
import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { RateLimit } from '../throttling/rate-limit.decorators';
import { UserDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { LoginDto, LoginResponseDto, RegisterDto } from './dto/auth.dto';

/** Register and login reach the database without the guard having done so first. */
const DATABASE_ERRORS = [ErrorCode.DatabaseUnavailable, ErrorCode.DatabaseBusy];

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
  @ApiOperation({ operationId: 'register', summary: 'Create an account' })
  @ApiCreatedResponse({ type: UserDto, description: 'The new account' })
  @ApiErrors(
    ErrorCode.UsernameTaken,
    ErrorCode.UsernameTooSimilar,
    ErrorCode.UsernameReserved,
    ErrorCode.EmailTaken,
    ...DATABASE_ERRORS,
  )
  async register(@Body() dto: RegisterDto): Promise<UserDto> {
    return UserDto.from(await this.users.register(dto));
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @RateLimit('login')
  @ApiOperation({
    operationId: 'login',
    summary: 'Log in with a username or an email; get a bearer token',
  })
  @ApiOkResponse({ type: LoginResponseDto, description: 'A bearer token and its account' })
  @ApiErrors(
    ErrorCode.InvalidCredentials,
    ErrorCode.AccountDisabled,
    ErrorCode.TooManyFailedLogins,
    ErrorCode.RateLimitUnavailable,
    ...DATABASE_ERRORS,
  )
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
  @ApiOperation({ operationId: 'logout', summary: 'Revoke the token this request carries' })
  @ApiNoContentResponse({ description: 'The token is refused from now on' })
  async logout(@AuthUser() caller: AuthenticatedUser): Promise<void> {
    await this.auth.logout(caller);
  }

  @Authenticated()
  @Get('me')
  @ApiOperation({ operationId: 'getCurrentUser', summary: "The caller's account" })
  @ApiOkResponse({ type: UserDto, description: 'The account of the token' })
  me(@AuthUser() caller: AuthenticatedUser): UserDto {
    return UserDto.from(caller);
  }
}
