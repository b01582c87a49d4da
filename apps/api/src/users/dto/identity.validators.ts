import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';

import { canonical, emailProblem, usernameProblem } from '../identity';

/** Canonicalises a string field (NFKC, trimmed, lower case) before it is validated. */
export const Canonical = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? canonical(value) : value,
  );

function identityRule(
  name: string,
  problem: (value: string) => string | undefined,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && problem(value) === undefined,
        defaultMessage: (args) =>
          (typeof args?.value === 'string' && problem(args.value)) ||
          `${args?.property} is invalid`,
      },
    },
    options,
  );
}

/** A canonical username that may be registered (see identity.ts). */
export const IsRegistrableUsername = (options?: ValidationOptions): PropertyDecorator =>
  identityRule('isRegistrableUsername', usernameProblem, options);

/** A canonical email without look-alike tricks (see identity.ts). */
export const IsPlainEmail = (options?: ValidationOptions): PropertyDecorator =>
  identityRule('isPlainEmail', emailProblem, options);
