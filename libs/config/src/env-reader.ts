export type Env = Record<string, string | undefined>;

/** Bounds of a number read from the environment, both inclusive. */
type Range = { min?: number; max?: number };

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * Reads typed values out of an environment, collecting every problem instead of stopping at
 * the first, so that one start-up attempt tells the operator everything that is wrong.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, range: Range = {}): number {
    return this.number(name, fallback, range, /^-?\d+$/, 'an integer');
  }

  /** A decimal number such as `0.4` (or `1`, `.5`), within `range`. */
  decimal(name: string, fallback: number, range: Range = {}): number {
    return this.number(name, fallback, range, /^-?(\d+\.?\d*|\.\d+)$/, 'a number');
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    return this.fail(name, `must be true or false, got "${value}"`, fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
    return (
      match ?? this.fail(name, `must be one of ${allowed.join(', ')}, got "${value}"`, fallback)
    );
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        return this.fail(
          name,
          `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`,
          undefined,
        );
      }
      return value;
    } catch {
      return this.fail(name, 'must be a valid URL', undefined);
    }
  }

  /** `name` as a number written as `pattern` allows (described as `kind`), within `range`. */
  private number(name: string, fallback: number, range: Range, pattern: RegExp, kind: string) {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!pattern.test(value)) return this.fail(name, `must be ${kind}, got "${value}"`, fallback);
    const n = Number(value);
    if (range.min !== undefined && n < range.min)
      return this.fail(name, `must be at least ${range.min}, got ${n}`, fallback);
    if (range.max !== undefined && n > range.max)
      return this.fail(name, `must be at most ${range.max}, got ${n}`, fallback);
    return n;
  }

  fail<T>(name: string, message: string, fallback: T): T {
    this.problems.push(`${name} ${message}`);
    return fallback;
  }
}
