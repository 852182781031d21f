// jest's globalSetup: every temporary file of a run goes into one folder, which
// global-teardown.ts removes when the run ends. The tests, the servers and tools they start, and
// the libraries they load (cdk8s' Testing.app() makes a folder per app and never removes it) all
// take their temporary folders from os.tmpdir(), that is $TMPDIR, which the jest workers and every
// process they start inherit from this process.
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

export const SCRATCH_PREFIX = 'ard-tests-';

export default async function globalSetup(): Promise<void> {
  process.env.TMPDIR = mkdtempSync(path.join(tmpdir(), SCRATCH_PREFIX));
}
