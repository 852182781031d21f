import { mkdtempSync, readdirSync, rmSync } from 'fs';
import os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { validateInput } from '../../queue/enqueue';
import { SENTINEL_2 } from '../../protocol/workflows';

describe('validateInput from stdin', () => {
  test('input refused in its first chunk leaves no spool behind and nothing failing after the refusal', async () => {
    // A temporary folder of its own: the run's is shared with the other jest workers, whose
    // enqueues from stdin make spools there at any time.
    const own = mkdtempSync(path.join(os.tmpdir(), 'enqueue-test-'));
    const tmpdir = jest.spyOn(os, 'tmpdir').mockReturnValue(own);
    const failures: unknown[] = [];
    const record = (err: unknown): void => void failures.push(err);
    process.on('uncaughtException', record);
    try {
      await expect(validateInput({ kind: 'stdin' }, SENTINEL_2, Readable.from([Buffer.from('B'.repeat(64 * 1024))]))).rejects.toThrow(
        'line 1 is longer than 1,000 characters',
      );
      // A stream still opening its file would fail now, in the next turns of the event loop.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 50));
      expect(tmpdir).toHaveBeenCalled(); // the spool was made in `own`
    } finally {
      process.off('uncaughtException', record);
      tmpdir.mockRestore();
    }
    expect(failures).toEqual([]);
    expect(readdirSync(own)).toEqual([]); // the spool made there is gone
    rmSync(own, { recursive: true });
  });
});
