// Builds the queue tool and the protocol it shares with the manifests into build/:
// - every TypeScript source the tool runs (queue/ and protocol/, and what they import at run time
//   from elsewhere in the repository) is transpiled file by file by the TypeScript compiler's
//   transpileModule, without type-checking (that is `npm run typecheck`, part of `npm test`;
//   tsconfig's isolatedModules makes file-by-file output the same as a whole-program emit). Not
//   esbuild, as `npm run synth` uses: its CommonJS exports are getters, and the enqueue's hot loops
//   read imported constants and functions (LF, the digest) millions of times (20 % more CPU for
//   1M scenes). The list of those sources is esbuild's import graph (type-only imports are not
//   followed, since they run nothing), in a fraction of the time a compiler program takes;
// - the protocol's Lua scripts are copied next to it (build/protocol/lua, the same path relative
//   to protocol/lua.js as in the sources);
// - each of BUNDLED (ioredis and its dependencies, about 70 files) is bundled into one file,
//   build/node_modules/<name>/index.js, which Node's module resolution finds from the compiled
//   tool before the repository's node_modules/ (loading one file instead of 70 saves about a
//   sixth of `status`'s start-up; only the package's main entry is exported, so a deep import
//   such as `ioredis/built/…` fails instead of loading a second copy);
// - build/sources.json lists the sources this build was made from and the bundled packages, for
//   the queue tool's stale-build check (queue/stale-build.ts). The list is the import graph, so a
//   new shared file cannot be missed.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const build = path.join(root, 'build');
const lua = path.join('protocol', 'lua');
/** The folders of the tool's own sources; build/ holds their output under the same paths. */
const TOOL_FOLDERS = ['queue', 'protocol'];
const OPTIONS = { platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' };

const isSource = (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts');
const entryPoints = TOOL_FOLDERS.flatMap((folder) =>
  fs.readdirSync(path.join(root, folder), { recursive: true }).map((name) => path.join(folder, name)),
).filter(isSource);

// The import graph: a bundle that is never written, of everything the entry points load at run
// time, packages left out (they are node_modules/' or BUNDLED's).
const graph = esbuild.buildSync({ ...OPTIONS, absWorkingDir: root, entryPoints, bundle: true, packages: 'external', write: false, metafile: true, outdir: build });
const compiled = Object.keys(graph.metafile.inputs).sort();

// Outputs of an earlier build that this one does not write (a source deleted or no longer
// imported) must not be found by a stale require(); build/synth/ is `npm run synth`'s.
fs.mkdirSync(build, { recursive: true });
for (const entry of fs.readdirSync(build, { withFileTypes: true }).filter((e) => e.isDirectory())) {
  if (entry.name !== 'synth' && entry.name !== 'node_modules') fs.rmSync(path.join(build, entry.name), { recursive: true });
}
// tsconfig.json read as tsc reads it (comments and trailing commas allowed).
const tsconfig = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
if (tsconfig.error) throw new Error(ts.flattenDiagnosticMessageText(tsconfig.error.messageText, '\n'));
const { options: compilerOptions } = ts.convertCompilerOptionsFromJson(tsconfig.config.compilerOptions, root);
for (const source of compiled) {
  const out = path.join(build, source.replace(/\.ts$/, '.js'));
  const { outputText, sourceMapText } = ts.transpileModule(fs.readFileSync(path.join(root, source), 'utf8'), {
    compilerOptions,
    fileName: path.join(root, source),
    reportDiagnostics: false,
  });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, outputText);
  if (sourceMapText) fs.writeFileSync(`${out}.map`, sourceMapText);
}
fs.cpSync(path.join(root, lua), path.join(build, lua), { recursive: true });
/** Packages the compiled tool loads from one bundled file. */
const BUNDLED = ['ioredis'];
for (const name of BUNDLED) {
  const out = path.join(build, 'node_modules', name);
  fs.rmSync(out, { recursive: true, force: true });
  const { version } = require(`${name}/package.json`);
  esbuild.buildSync({ ...OPTIONS, entryPoints: [require.resolve(name)], bundle: true, outfile: path.join(out, 'index.js') });
  const manifest = { name, version, private: true, main: 'index.js', exports: { '.': './index.js', './package.json': './package.json' } };
  fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
}

const luaFiles = fs.readdirSync(path.join(root, lua), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'));
const sources = [...compiled, ...luaFiles].sort();
// Folders are listed too: a file added to one after the build makes the build stale as well.
const folders = [...new Set(sources.map((file) => path.posix.dirname(file)))].sort();
fs.writeFileSync(path.join(build, 'sources.json'), JSON.stringify({ files: sources, folders, bundled: BUNDLED }, null, 2) + '\n');
