import type { Readable, Writable } from 'stream';

/**
 * What a subcommand may touch besides Redis. The CLI passes the real process streams; unit
 * tests pass buffers, so no subcommand reads `process.*` directly.
 */
export interface CliContext {
  readonly stdin: Readable & { readonly isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable & { readonly isTTY?: boolean; readonly columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * One entry of the CLI's subcommand table. New subcommands (`requeue-expired`, …) are one
 * module each exporting such an object, plus one line in cli.ts.
 */
export interface Subcommand {
  /** One line for the top-level `--help`. */
  readonly summary: string;
  /** Full `--help` text of the subcommand; the CLI prints it for `--help` or `-h`. */
  readonly help: string;
  /**
   * The subcommand stops itself on SIGINT/SIGTERM (a refresh loop that restores the terminal),
   * so the CLI's own handler (cleanups, then exit) stays out of its way.
   */
  readonly handlesSignals?: boolean;
  /** Runs the subcommand; resolves to the exit code. Throws UsageError (2) or CliError (1). */
  run(args: readonly string[], ctx: CliContext): Promise<number>;
}
