// Builds the queue tool and the protocol it shares with the manifests into build/:
// - one pass of the TypeScript compiler emits the JavaScript without type-checking it
//   (type-checking is `npm run typecheck`, part of `npm test`; tsconfig's isolatedModules makes
//   the output the same);
// - the protocol's Lua scripts are copied next to it (build/protocol/lua, the same path relative
//   to protocol/lua.js as in the sources);
// - each of BUNDLED (ioredis and its dependencies, about 70 files) is bundled into one file,
//   build/node_modules/<name>/index.js, which Node's module resolution finds from the compiled
//   tool before the repository's node_modules/ (loading one file instead of 70 saves about a
//   sixth of `status`'s start-up; only the package's main entry is exported, so a deep import
//   such as `ioredis/built/…` fails instead of loading a second copy);
// - build/sources.json lists the sources this build was made from and the bundled packages, for
//   the queue tool's stale-build check (queue/stale-build.ts). The list comes from the
//   compiler's own program, so a new shared file cannot be missed.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const build = path.join(root, 'build');
const lua = path.join('protocol', 'lua');

const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), { noCheck: true }, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const emitted = program.emit();
const problems = [...program.getSyntacticDiagnostics(), ...emitted.diagnostics];
if (problems.length > 0 || emitted.emitSkipped) {
  process.stderr.write(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  process.exit(1);
}
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

const luaFiles = fs.readdirSync(path.join(root, lua), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
// Every file compiled: the includes and whatever they import from elsewhere in the repository.
const compiled = program.getSourceFiles()
  .map((file) => path.resolve(file.fileName))
  .filter((file) => !file.endsWith('.d.ts') && !path.relative(root, file).split(path.sep).includes('node_modules'));
const sources = [...compiled, ...luaFiles].map((file) => path.relative(root, file).split(path.sep).join('/')).sort();
// Folders are listed too: a file added to one after the build makes the build stale as well.
const folders = [...new Set(sources.map((file) => path.posix.dirname(file)))].sort();
fs.writeFileSync(path.join(build, 'sources.json'), JSON.stringify({ files: sources, folders, bundled: BUNDLED }, null, 2) + '\n');
