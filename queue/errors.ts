/**
 * Errors the CLI turns into an exit code and a one-line message (no stack trace).
 *
 * Anything else that escapes a subcommand is a bug or an unexpected runtime failure: exit 1.
 */

/** Bad usage or bad input (unknown flag, invalid scene ID, …): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A runtime failure the user can act on (Redis unreachable, stale build, …): exit 1. */
export class CliError extends Error {
  /** @param reportsPushed the message already says what an enqueue run pushed */
  constructor(
    message: string,
    readonly reportsPushed = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes of the queue tool (`ard-queue`), a public contract for scripts. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
