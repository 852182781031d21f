// The cdk8s app as `npm run synth` and `npx cdk8s synth` (cdk8s.yaml's `app:`) run it: removes
// the output folder ($CDK8S_OUTDIR, else dist/, as `cdk8s synth` does before it runs the app, so
// that an object deleted from the code leaves no file behind), brings build/synth/ up to date with
// main.ts and the folders it imports from, then runs build/synth/main.js in this process.
//
// build/synth/ mirrors the sources: each TypeScript file transpiled by esbuild (no bundling, so the
// constructs find the Lua and Python files they read next to their own, copied along), and only
// the files changed since the last synth. Transpiling without type-checking is what keeps synth
// fast: `npm run typecheck` (part of `npm test` and `npm run lint`) checks the types.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
/** The app's sources: main.ts and every file of these folders. */
const APP_FOLDERS = ['lib', 'protocol', 'imports'];
const out = path.join(root, 'build', 'synth');
const OPTIONS = { outdir: out, outbase: root, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning' };

/** The output file of a source; undefined when the file is not one (a test, a declaration). */
function outputOf(file) {
  if (file.endsWith('.test.ts') || file.endsWith('.d.ts')) return undefined;
  return path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js');
}

function filesBelow(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

const mtime = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;

fs.rmSync(path.resolve(process.env.CDK8S_OUTDIR ?? 'dist'), { recursive: true, force: true });

// Other options or another esbuild: transpile everything again.
const stampFile = path.join(out, '.options.json');
const stamp = JSON.stringify({ esbuild: require('esbuild/package.json').version, ...OPTIONS });
if (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp) fs.rmSync(out, { recursive: true, force: true });

const sources = new Map([path.join(root, 'main.ts'), ...APP_FOLDERS.flatMap((f) => filesBelow(path.join(root, f)))]
  .flatMap((file) => (outputOf(file) ? [[outputOf(file), file]] : [])));
// An output whose source was deleted must not be found by a stale import.
for (const file of filesBelow(out)) {
  if (file !== stampFile && !sources.has(file)) fs.rmSync(file);
}
const stale = [...sources].filter(([output, source]) => mtime(output) < mtime(source));
const transpile = stale.filter(([, source]) => source.endsWith('.ts')).map(([, source]) => source);
// esbuild loaded only when there is work for it (about 10 ms).
if (transpile.length > 0) require('esbuild').buildSync({ ...OPTIONS, entryPoints: transpile });
for (const [output, source] of stale.filter(([, s]) => !s.endsWith('.ts'))) fs.cpSync(source, output);
fs.writeFileSync(stampFile, stamp);

require(path.join(out, 'main.js'));
