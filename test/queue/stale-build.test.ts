import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { staleBuildMessage } from '../../queue/stale-build';



describe('stale build check', () => {
  test('refuses a build older than a source it lists or a new source in its folders, only when running from build/', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-stale-'));
    for (const dir of ['queue', 'protocol/lua', 'build/queue']) mkdirSync(path.join(root, dir), { recursive: true });
    const compiled = path.join(root, 'build/queue/cli.js');
    const sources = ['queue/cli.ts', 'protocol/lua/enqueue.lua', 'protocol/workflows.ts'];
    writeFileSync(path.join(root, 'build/sources.json'), JSON.stringify({ files: sources, folders: ['queue', 'protocol', 'protocol/lua'] }));
    for (const file of [...sources, 'queue/cli.test.ts', 'build/queue/cli.js']) writeFileSync(path.join(root, file), '');
    const past = new Date(Date.now() - 60_000);
    for (const file of sources) utimesSync(path.join(root, file), past, past);
    expect(staleBuildMessage(compiled)).toBeUndefined(); // a newer test file does not count
    utimesSync(path.join(root, 'protocol/workflows.ts'), new Date(), new Date(Date.now() + 1000));
    expect(staleBuildMessage(compiled)).toBe('the compiled queue tool in build/ is older than protocol/workflows.ts; run `npm run build`');
    utimesSync(path.join(root, 'protocol/workflows.ts'), past, past);
    writeFileSync(path.join(root, 'protocol/new-shared.ts'), '');
    utimesSync(path.join(root, 'protocol/new-shared.ts'), new Date(), new Date(Date.now() + 1000));
    expect(staleBuildMessage(compiled)).toBe('the compiled queue tool in build/ is older than protocol/new-shared.ts; run `npm run build`');
    expect(staleBuildMessage(path.join(root, 'queue/cli.ts'))).toBeUndefined();
  });

  test('refuses a build whose bundled package is not the installed version', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-stale-'));
    const compiled = path.join(root, 'build/queue/cli.js');
    for (const dir of ['build/queue', 'node_modules/ioredis', 'node_modules/@ioredis/commands']) mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(compiled, '');
    const bundled = { 'node_modules/@ioredis/commands': '2.0.0', 'node_modules/ioredis': '6.0.0' };
    writeFileSync(path.join(root, 'build/sources.json'), JSON.stringify({ files: [], folders: [], bundled }));
    const install = (folder: string, version: string) => writeFileSync(path.join(root, folder, 'package.json'), JSON.stringify({ version }));
    install('node_modules/ioredis', '6.0.0');
    install('node_modules/@ioredis/commands', '2.0.0');
    expect(staleBuildMessage(compiled)).toBeUndefined();
    install('node_modules/@ioredis/commands', '2.1.0');
    expect(staleBuildMessage(compiled)).toBe('build/ bundles @ioredis/commands 2.0.0, node_modules/@ioredis/commands has 2.1.0; run `npm run build`');
    install('node_modules/@ioredis/commands', '2.0.0');
    rmSync(path.join(root, 'node_modules/ioredis/package.json'));
    expect(staleBuildMessage(compiled)).toBe('build/ bundles ioredis 6.0.0, node_modules/ioredis has (none); run `npm run build`');
  });

  test('refuses a build without its list of sources', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-stale-'));
    mkdirSync(path.join(root, 'build/queue'), { recursive: true });
    writeFileSync(path.join(root, 'build/queue/cli.js'), '');
    expect(staleBuildMessage(path.join(root, 'build/queue/cli.js'))).toBe(
      'the compiled queue tool in build/ has no list of its sources (build/sources.json); run `npm run build`',
    );
  });
});
