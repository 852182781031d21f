/** Waiting in tests: a pause, polling until a condition holds, bounded, and a process's exit. */
import type { ChildProcess } from 'child_process';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until `check` holds, polling every few ms (to catch short windows), for at most `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  await waitFor('a condition', async () => ((await check()) ? true : undefined), timeoutMs, 2);
}

/** Resolves with the exit code (or the signal name) once `child` has exited (at once if it has). */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal!)));
}

/**
 * Resolves with a child's exit code (or signal) once it has exited and its stdout and stderr have
 * been read to their end ('close'): at 'exit' alone, its last output may still be in the pipe.
 * Call it before the child can have closed (e.g. right after starting it).
 */
export function closed(child: ChildProcess): Promise<number | NodeJS.Signals> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? signal!)));
}
