import { HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';

/** A 429 in Nest's error shape, with `Retry-After` (whole seconds, at least 1) set on `res`. */
export function tooManyRequests(
  res: Response,
  retryAfterSeconds: number,
  message: string,
): HttpException {
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return new HttpException(message, HttpStatus.TOO_MANY_REQUESTS);
}
