/**
 * Ctrl-C and SIGTERM: a run stops promptly and leaves nothing behind. Code that holds something
 * to undo (a temporary copy of stdin, the enqueue lock) registers a cleanup while it holds it;
 * on a signal the CLI runs the registered cleanups (each bounded in time), prints what they
 * report, and exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
 */

/** A cleanup: may return a line for the user (e.g. what was pushed so far). */
export type Cleanup = () => Promise<string | void> | string | void;

const cleanups = new Set<Cleanup>();

/** Registers `cleanup` until the returned function is called. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Exit codes of the signals the CLI handles. */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** Runs every registered cleanup, newest first, each limited to `limitMs`; returns their messages. */
export async function runCleanups(limitMs = 2_000): Promise<string[]> {
  const messages: string[] = [];
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      const message = await Promise.race([Promise.resolve(cleanup()), new Promise<void>((r) => setTimeout(r, limitMs).unref())]);
      if (typeof message === 'string') messages.push(message);
    } catch {
      // A cleanup that fails (connection gone) leaves what expires by itself (the lock's TTL).
    }
  }
  return messages;
}
