import { HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** A 429 in Nest's error shape, with `Retry-After` (whole seconds, at least 1) set on the reply. */
export function tooManyRequests(
  reply: FastifyReply,
  retryAfterSeconds: number,
  message: string,
): HttpException {
  void reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return new HttpException(message, HttpStatus.TOO_MANY_REQUESTS);
}
