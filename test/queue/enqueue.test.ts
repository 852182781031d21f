import { readdirSync } from 'fs';
import { tmpdir } from 'os';
import { Readable } from 'stream';
import { validateInput } from '../../queue/enqueue';
import { SENTINEL_2 } from '../../protocol/workflows';

/** The stdin spool folders (`ard-enqueue-*`) in the temporary directory. */
const spools = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('ard-enqueue-'));

describe('validateInput from stdin', () => {
  test('input refused in its first chunk leaves no spool behind and nothing failing after the refusal', async () => {
    const before = new Set(spools());
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
    } finally {
      process.off('uncaughtException', record);
    }
    expect(failures).toEqual([]);
    expect(spools().filter((name) => !before.has(name))).toEqual([]);
  });
});
