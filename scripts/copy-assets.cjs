// After `tsc -p tsconfig.build.json`: copies the protocol's Lua scripts next to the compiled JS
// (build/protocol/lua, the same path relative to protocol/lua.js as in the sources); bundles each
// of BUNDLED (ioredis and its dependencies, about 70 files) into one file,
// build/node_modules/<name>/index.js, which Node's module resolution finds from the compiled tool
// before the repository's node_modules/ (loading one file instead of 70 saves about a sixth of
// `status`'s start-up; only the package's main entry is exported, so a deep import such as
// `ioredis/built/…` fails instead of loading a second copy); and writes build/sources.json, the
// sources this build was made from and the bundled packages, for the queue tool's stale-build
// check (queue/stale-build.ts). The list comes from the build's own tsconfig, so a new shared file
// cannot be missed.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const build = path.join(root, 'build');
const lua = path.join('protocol', 'lua');
fs.cpSync(path.join(root, lua), path.join(build, lua), { recursive: true });

/** Packages the compiled tool loads from one bundled file. */
const BUNDLED = ['ioredis'];
for (const name of BUNDLED) {
  const out = path.join(build, 'node_modules', name);
  fs.rmSync(out, { recursive: true, force: true });
  const { version } = require(`${name}/package.json`);
  require('esbuild').buildSync({
    entryPoints: [require.resolve(name)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(out, 'index.js'),
    logLevel: 'warning',
  });
  const manifest = { name, version, private: true, main: 'index.js', exports: { '.': './index.js', './package.json': './package.json' } };
  fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
}

const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const luaFiles = fs.readdirSync(path.join(root, lua), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
// Every file tsc compiled: the includes and whatever they import from elsewhere in the repository.
const compiled = ts.createProgram({ rootNames: config.fileNames, options: config.options }).getSourceFiles()
  .map((file) => path.resolve(file.fileName))
  .filter((file) => !file.endsWith('.d.ts') && !path.relative(root, file).split(path.sep).includes('node_modules'));
const sources = [...compiled, ...luaFiles].map((file) => path.relative(root, file).split(path.sep).join('/')).sort();
// Folders are listed too: a file added to one after the build makes the build stale as well.
const folders = [...new Set(sources.map((file) => path.posix.dirname(file)))].sort();
fs.writeFileSync(path.join(build, 'sources.json'), JSON.stringify({ files: sources, folders, bundled: BUNDLED }, null, 2) + '\n');
