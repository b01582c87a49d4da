import {
  registerDecorator,
  ValidationArguments,
  ValidationOptions,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const COMMON_PASSWORD = 'password is too common';
export const PASSWORD_IS_NAME = 'password must not be the username or email';

/** Shipped beside the compiled code (nest-cli.json `assets`); read once, when this file loads. */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  readFileSync(join(__dirname, '..', 'common-passwords.txt'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line !== '' && !line.startsWith('#')),
);

/** Why `password` is refused, given the rest of the form; undefined when it is acceptable. */
export function passwordProblem(
  password: string,
  form: { username?: unknown; email?: unknown } = {},
): string | undefined {
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return COMMON_PASSWORD;
  const names = [form.username, form.email].filter((v): v is string => typeof v === 'string');
  if (names.some((name) => name.toLowerCase() === lower)) return PASSWORD_IS_NAME;
  return undefined;
}

@ValidatorConstraint({ name: 'isNotCommonPassword' })
export class IsNotCommonPasswordConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return typeof value !== 'string' || passwordProblem(value, args.object) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return typeof args.value === 'string'
      ? (passwordProblem(args.value, args.object) ?? COMMON_PASSWORD)
      : COMMON_PASSWORD;
  }
}

/**
 * Refuses a password on the shipped list of common passwords (any case), or equal to the
 * `username` or `email` of the same object.
 */
export function IsNotCommonPassword(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: IsNotCommonPasswordConstraint,
    });
}
