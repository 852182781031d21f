import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import globalSetup, { SCRATCH_PREFIX } from './global-setup';
import globalTeardown from './global-teardown';

test('this run keeps its temporary files in its own folder', () => {
  expect(path.basename(tmpdir())).toMatch(new RegExp(`^${SCRATCH_PREFIX}`));
});

describe('the run folder', () => {
  const runTmpdir = process.env.TMPDIR;
  afterEach(() => { process.env.TMPDIR = runTmpdir; });

  test('globalSetup makes a new one under the temporary folder and points $TMPDIR at it; globalTeardown removes it, whatever is inside', async () => {
    await globalSetup();
    const folder = process.env.TMPDIR!;
    expect(path.dirname(folder)).toBe(runTmpdir);
    expect(path.basename(folder)).toMatch(new RegExp(`^${SCRATCH_PREFIX}`));
    mkdirSync(path.join(folder, 'cdk8s.outdir.x', 'nested'), { recursive: true });
    writeFileSync(path.join(folder, 'cdk8s.outdir.x', 'nested', 'file'), 'x');
    await globalTeardown();
    expect(existsSync(folder)).toBe(false);
  });

  test('globalTeardown leaves a $TMPDIR that globalSetup did not make', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'not-a-run-'));
    process.env.TMPDIR = other;
    await globalTeardown();
    expect(existsSync(other)).toBe(true);
  });
});
