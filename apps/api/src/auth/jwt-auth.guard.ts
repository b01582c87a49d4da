import { AuthenticatedUser, IS_PUBLIC_KEY, REQUIRES_ADMIN_KEY } from '@app/common';
import {
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';

/**
 * Global guard: every route needs a valid token unless marked @Public(); routes marked
 * @Authenticated({ admin: true }) also need the admin role.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    await super.canActivate(context);
    const needsAdmin = this.reflector.getAllAndOverride<boolean>(REQUIRES_ADMIN_KEY, targets);
    const user = context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user;
    if (needsAdmin && user.role !== 'admin') throw new ForbiddenException('Admin role required');
    return true;
  }

  /** Infrastructure errors (database down) propagate; every token problem is one plain 401. */
  override handleRequest<TUser = AuthenticatedUser>(err: unknown, user: TUser | false): TUser {
    if (err) throw err instanceof Error ? err : new Error('Authentication failed');
    if (!user) throw new UnauthorizedException('Invalid or missing access token');
    return user;
  }
}
