import { DomainError, ErrorCode } from '@app/common';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';

import { LoginFailureLimiter, LoginSubjects } from './login-failure-limiter';
import { tooManyRequests } from './too-many-requests';

export const TOO_MANY_FAILED_LOGINS = 'Too many failed logins; try again later';

/**
 * Around the login route: refuses (429) before any password check while the login name or the
 * client address has spent its failure budget, and counts a 401 from the handler as a failure.
 * Client address is the request's `ip`; behind a reverse proxy set TRUST_PROXY, or every client shares the
 * proxy's address and budget.
 */
@Injectable()
export class LoginFailuresInterceptor implements NestInterceptor {
  constructor(private readonly limiter: LoginFailureLimiter) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (!this.limiter.enabled) return next.handle();
    const http = context.switchToHttp();
    const subjects = subjectsOf(http.getRequest<FastifyRequest>());
    const wait = await this.limiter.retryAfterSeconds(subjects);
    if (wait > 0)
      throw tooManyRequests(http.getResponse<FastifyReply>(), wait, TOO_MANY_FAILED_LOGINS);
    return next
      .handle()
      .pipe(
        catchError((error: unknown) =>
          isFailedLogin(error)
            ? from(this.limiter.recordFailure(subjects)).pipe(
                mergeMap(() => throwError(() => error)),
              )
            : throwError(() => error),
        ),
      );
  }
}

/** Runs before validation, so the body may hold anything. */
function subjectsOf(req: FastifyRequest): LoginSubjects {
  const body: unknown = req.body;
  const login =
    typeof body === 'object' && body !== null && 'username' in body ? body.username : undefined;
  return { login: typeof login === 'string' ? login : undefined, address: req.ip };
}

function isFailedLogin(error: unknown): boolean {
  return error instanceof DomainError && error.code === ErrorCode.InvalidCredentials;
}
