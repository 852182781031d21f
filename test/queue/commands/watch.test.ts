import { PassThrough } from 'stream';
import { intervalFlag, LiveDisplay } from '../../../queue/commands/watch';

describe('--interval', () => {
  test('accepts decimal seconds from 0.1 to 3600; default 2', () => {
    expect(intervalFlag({})).toBe(2);
    expect(['0.1', '.5', '1', '2.', '30', '3600'].map((interval) => intervalFlag({ interval }))).toEqual([0.1, 0.5, 1, 2, 30, 3600]);
  });

  test.each(['0', '0.05', '-1', '1e3', 'abc', '3601', 'Infinity', '0x10'])('refuses %s with a message naming the flag and the range', (interval) => {
    expect(() => intervalFlag({ interval })).toThrow(`--interval must be a number of seconds from 0.1 to 3600, got '${interval}'`);
  });
});

describe('LiveDisplay', () => {
  function capture(columns: number): { out: PassThrough & { columns: number }; text: () => string } {
    const out = Object.assign(new PassThrough(), { columns, isTTY: true });
    let text = '';
    out.on('data', (d) => (text += d));
    return { out, text: () => text };
  }

  test('hides the cursor, then redraws over the previous frame; close shows the cursor again', () => {
    const { out, text } = capture(80);
    const display = new LiveDisplay(out);
    display.draw(['one', 'two']);
    display.draw(['three']);
    display.close();
    expect(text()).toBe('\x1b[?25lone\x1b[K\ntwo\x1b[K\n\x1b[J' + '\x1b[2Fthree\x1b[K\n\x1b[J' + '\x1b[?25h');
  });

  test('cuts lines wider than the terminal so that none wraps (styles dropped from a cut line)', () => {
    const { out, text } = capture(30);
    const display = new LiveDisplay(out);
    display.draw([`\x1b[1;31m${'x'.repeat(40)}\x1b[0m`, 'short']);
    expect(text()).toBe(`\x1b[?25l${'x'.repeat(28)}…\x1b[K\nshort\x1b[K\n\x1b[J`);
  });

  test('close without a frame writes nothing (an error before the first refresh leaves the terminal alone)', () => {
    const { out, text } = capture(80);
    new LiveDisplay(out).close();
    expect(text()).toBe('');
  });
});
