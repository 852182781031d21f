// Builds the queue tool into build/queue/:
// - tool.js: the tool's sources (queue/, protocol/ and what they import at run time from elsewhere
//   in the repository) and ioredis with its dependencies in one CommonJS bundle by esbuild. Each
//   TypeScript source is first transpiled on its own by the TypeScript compiler's transpileModule,
//   without type-checking (that is `npm run typecheck`, part of `npm test`; tsconfig's
//   isolatedModules makes file-by-file output the same as a whole-program emit): esbuild keeps
//   such CommonJS modules as they are, where its own handling of the ES modules made the enqueue
//   of 1M scenes take 14 % more CPU (its hot loops read imported constants and functions, LF and
//   the digest, millions of times). One file loads faster than the 40 a command loaded before;
// - tool.js.cache: V8's code for the bundle, saved after loading it and every subcommand, so a
//   command does not compile it again (queue/launch.cjs);
// - cli.js: the entry point, queue/launch.cjs, which loads the bundle with that cache;
// - lua/: the protocol's Lua scripts (protocol/lua.ts finds them next to the code that runs it);
// - build/sources.json lists the sources this build was made from (the bundle's inputs, so a new
//   shared file cannot be missed) and the versions of the packages it bundles, for the queue
//   tool's stale-build check (queue/stale-build.ts).
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const build = path.join(root, 'build');
const out = path.join(build, 'queue');
const LAUNCHER = path.join('queue', 'launch.cjs');
const LUA = path.join('protocol', 'lua');

// tsconfig.json read as tsc reads it (comments and trailing commas allowed).
const tsconfig = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
if (tsconfig.error) throw new Error(ts.flattenDiagnosticMessageText(tsconfig.error.messageText, '\n'));
const { options: compilerOptions } = ts.convertCompilerOptionsFromJson(
  { ...tsconfig.config.compilerOptions, sourceMap: false, inlineSourceMap: true, inlineSources: true },
  root,
);

/** esbuild plugin: the repository's TypeScript, as transpileModule emits it (with its source map, which esbuild follows). */
const transpileModule = {
  name: 'typescript-transpile-module',
  setup(plugin) {
    plugin.onLoad({ filter: /\.ts$/ }, ({ path: file }) => ({
      contents: ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: false }).outputText,
      loader: 'js',
    }));
  },
};

/**
 * esbuild plugin: ioredis' Commander.js adds its ~480 command methods to a class prototype one at
 * a time. V8 keeps a class prototype's properties fast, so each addition copies all of the
 * prototype's descriptors: quadratic, 6 MB of garbage and about 60 ms of CPU (on our slowest
 * machine) at every start of the tool, a quarter of a `status`. Deleting a property first turns
 * the prototype into a dictionary, where an addition costs nothing much; V8 makes it fast again
 * on first use. Two placeholders are added and deleted, so the prototype ends with the same
 * properties in the same order. The build fails if an ioredis update moves the loop.
 */
const ioredisCommandTable = {
  name: 'ioredis-command-table',
  setup(plugin) {
    const LOOP = 'commands.forEach(function (commandName) {';
    const DICTIONARY_MODE =
      'Commander.prototype.__ardFirst = 0; Commander.prototype.__ardSecond = 0;\n' +
      'delete Commander.prototype.__ardFirst; delete Commander.prototype.__ardSecond;\n';
    plugin.onLoad({ filter: /[\\/]ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/ }, ({ path: file }) => {
      const source = fs.readFileSync(file, 'utf8');
      if (source.split(LOOP).length !== 2) throw new Error(`${file}: expected one \`${LOOP}\` (ioredis' command table); update ioredisCommandTable in scripts/build.cjs`);
      return { contents: source.replace(LOOP, DICTIONARY_MODE + LOOP), loader: 'js' };
    });
  },
};

/**
 * Empties build/ of an earlier build's outputs, which a stale require() must not find, and of its
 * source list, so that a build failing half-way leaves a tool that refuses to run; build/synth/
 * is `npm run synth`'s.
 */
function cleanBuildFolder() {
  fs.mkdirSync(build, { recursive: true });
  for (const entry of fs.readdirSync(build, { withFileTypes: true })) {
    if (entry.name !== 'synth') fs.rmSync(path.join(build, entry.name), { recursive: true });
  }
}

/** Bundles queue/cli.ts and everything it runs into tool.js; resolves to esbuild's metafile (the inputs). */
async function bundleTool() {
  const { metafile } = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join('queue', 'cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(out, 'tool.js'),
    sourcemap: true,
    metafile: true,
    plugins: [transpileModule, ioredisCommandTable],
    logLevel: 'warning',
  });
  return metafile;
}

/** Saves V8's code for the bundle, loaded as a command loads it, with every subcommand. */
function saveCodeCache() {
  const { CODE_CACHE, loadBundle } = require(path.join(out, 'cli.js'));
  const { script, exports: tool } = loadBundle();
  for (const load of Object.values(tool.SUBCOMMANDS)) load();
  fs.writeFileSync(CODE_CACHE, script.createCachedData());
}

/** Writes build/sources.json from the bundle's inputs: the sources, their folders, and each bundled package's version. */
function writeSourceList(inputs) {
  const bundled = Object.fromEntries(
    [...new Set(inputs.map((file) => file.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//)?.[1]).filter(Boolean))]
      .sort()
      .map((dir) => [dir, JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')).version]),
  );
  const luaFiles = fs.readdirSync(path.join(root, LUA), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)));
  const files = [...inputs.filter((file) => !file.includes('node_modules/')), LAUNCHER, ...luaFiles]
    .map((file) => file.split(path.sep).join('/'))
    .sort();
  // Folders are listed too: a file added to one after the build makes the build stale as well.
  const folders = [...new Set(files.map((file) => path.posix.dirname(file)))].sort();
  // Last, and whole: its presence says the build is complete.
  const list = path.join(build, 'sources.json');
  fs.writeFileSync(`${list}.partial`, JSON.stringify({ files, folders, bundled }, null, 2) + '\n');
  fs.renameSync(`${list}.partial`, list);
}

async function main() {
  cleanBuildFolder();
  const metafile = await bundleTool();
  fs.copyFileSync(path.join(root, LAUNCHER), path.join(out, 'cli.js'));
  fs.cpSync(path.join(root, LUA), path.join(out, 'lua'), { recursive: true });
  saveCodeCache();
  writeSourceList(Object.keys(metafile.inputs));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
