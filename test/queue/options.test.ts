import { OPTIONS, optionsHelp, parseArgsOptions, pickOptions } from '../../queue/options';

describe('options', () => {
  test('help rows are aligned, continuation lines indented, --help last', () => {
    const table = { a: { type: 'boolean', help: 'one' }, long: { type: 'string', short: 'l', value: 'N', help: 'two\nthree' } } as const;
    expect(optionsHelp(table)).toBe(
      '      --a       one\n' +
        '  -l, --long N  two\n' +
        '                three\n' +
        '  -h, --help    show this help',
    );
  });

  test('a subcommand narrows a help text without redeclaring the option', () => {
    const table = pickOptions(['json', 'limit'], { json: 'print a list' });
    expect(table.json).toEqual({ ...OPTIONS.json, help: 'print a list' });
    expect(table.limit).toBe(OPTIONS.limit);
    expect(parseArgsOptions(pickOptions(['workflow', 'json']))).toEqual({ workflow: { type: 'string', short: 'w' }, json: { type: 'boolean' } });
  });
});
