import { applyDecorators, Param, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsUUID } from 'class-validator';

import { documentParameterErrors } from '../errors/api-errors';
import { DomainError } from '../errors/domain-error';
import { ErrorCode } from '../errors/error-codes';

const UUID_PATTERNS = {
  any: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  '4': /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i,
};

export type UuidVersion = keyof typeof UUID_PATTERNS;

/**
 * The id in its one spelling inside the app (lower case, as ids are generated and stored), or
 * null when the value is not a UUID. MariaDB compares ids case-insensitively and the code does
 * not, so every id from a client goes through here before anything compares it.
 */
export function canonicalUuid(value: unknown, version: UuidVersion = 'any'): string | null {
  return typeof value === 'string' && UUID_PATTERNS[version].test(value)
    ? value.toLowerCase()
    : null;
}

export interface UuidParamOptions {
  /** Only this UUID version; any by default. */
  version?: UuidVersion;
  description?: string;
  /**
   * A malformed value reaches the handler unchanged instead of a 400: for routes that answer it
   * exactly as an unknown id (404).
   */
  keepMalformed?: boolean;
}

class CanonicalUuidPipe implements PipeTransform<unknown, string> {
  constructor(
    private readonly name: string,
    private readonly options: UuidParamOptions,
  ) {}

  transform(value: unknown): string {
    const id = canonicalUuid(value, this.options.version);
    if (id !== null) return id;
    if (this.options.keepMalformed && typeof value === 'string') return value;
    throw new DomainError(ErrorCode.ValidationFailed, `${this.name} must be a UUID`);
  }
}

/**
 * A UUID path parameter, lower-cased; a malformed one is a 400 `<name> must be a UUID`.
 * Documents the parameter as format uuid as well.
 */
export function UuidParam(name: string, options: UuidParamOptions = {}): ParameterDecorator {
  const param = Param(name, new CanonicalUuidPipe(name, options));
  const doc = ApiParam({
    name,
    format: 'uuid',
    ...(options.description ? { description: options.description } : {}),
  });
  return (target, key, index) => {
    param(target, key, index);
    const method = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (key !== undefined && method) doc(target, key, method);
    if (!options.keepMalformed) documentParameterErrors(target, key, [ErrorCode.ValidationFailed]);
  };
}

/** A UUID field of a body or query DTO: validated, and lower-cased like UuidParam. */
export function IsCanonicalUuid(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => canonicalUuid(value) ?? value),
    IsUUID(),
  );
}
