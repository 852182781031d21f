// jest's globalTeardown: removes the run's temporary folder (global-setup.ts).
import { rmSync } from 'fs';
import path from 'path';
import { SCRATCH_PREFIX } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const folder = process.env.TMPDIR;
  if (folder === undefined || !path.basename(folder).startsWith(SCRATCH_PREFIX)) return;
  // A server that a failed test left running may still be writing there: retry a folder not yet empty.
  rmSync(folder, { recursive: true, force: true, maxRetries: 5 });
}
