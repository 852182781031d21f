/**
 * The validators the queue protocol uses (recovery arguments, Job settings): an error names the
 * field, shows the value and says what is allowed. Construct-only checks are in lib/validation.ts.
 */

/** Thrown for invalid configuration; the message is meant for the person who wrote it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

export function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`'${field}' must be a positive integer, got ${show(value)}`);
  }
  return value;
}

export function nonNegativeInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`'${field}' must be a non-negative integer, got ${show(value)}`);
  }
  return value;
}
