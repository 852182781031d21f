import { readFileSync } from 'fs';
import * as path from 'path';
import { bundleLua, LUA_DIR, loadLuaScript, readLuaInclude } from '../../protocol/lua';

describe('bundleLua', () => {
  test('replaces an include line by the include between BEGIN/END marker lines', () => {
    const bundled = bundleLua('a()\n--- @include "x"\nb()\n', (name) => `-- the ${name} part\n`);
    expect(bundled).toBe(
      'a()\n' +
        '-- BEGIN x ' + '-'.repeat(83) + '\n' +
        '-- the x part\n' +
        '-- END x ' + '-'.repeat(85) + '\n' +
        'b()\n',
    );
  });

  test('leaves a script without includes unchanged', () => {
    expect(bundleLua('return 1\n-- @include "x" is not an include line\n', () => 'never')).toBe('return 1\n-- @include "x" is not an include line\n');
  });
});

describe('loadLuaScript', () => {
  test('requeue-expired.lua gets SHA-224 inlined, and keeps no include line', () => {
    const { source, sha1 } = loadLuaScript('requeue-expired');
    expect(readFileSync(path.join(LUA_DIR, 'requeue-expired.lua'), 'utf8')).toContain('--- @include "sha224"\n');
    expect(source).not.toContain('@include');
    expect(source).toContain(`-- BEGIN sha224 ${'-'.repeat(78)}\n${readLuaInclude('sha224')}-- END sha224 ${'-'.repeat(80)}\n`);
    expect(sha1).toMatch(/^[0-9a-f]{40}$/);
  });

  test('an unknown script fails naming its file', () => {
    expect(() => loadLuaScript('no-such-script')).toThrow(/no-such-script\.lua/);
  });
});
