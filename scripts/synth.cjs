// The cdk8s app as `npm run synth` and `npx cdk8s synth` (cdk8s.yaml's `app:`) run it: removes
// the output folder ($CDK8S_OUTDIR, else dist/, as `cdk8s synth` does before it runs the app, so
// that an object deleted from the code leaves no file behind), brings build/synth/ up to date with
// main.ts and the folders it imports from, then runs build/synth/main.js in this process.
//
// build/synth/ mirrors the sources: each TypeScript file transpiled by esbuild (no bundling, so the
// constructs find the Lua and Python files they read next to their own, copied along), and only
// the files whose content changed since the last synth. Transpiling without type-checking is what keeps synth
// fast: `npm run typecheck` (part of `npm test` and `npm run lint`) checks the types.
const { createHash } = require('crypto');
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

/** The content hash of a file: what decides whether its output is up to date (an mtime can lie, e.g. after `cp -p`). */
const hashOf = (file) => createHash('sha1').update(fs.readFileSync(file)).digest('hex');

fs.rmSync(path.resolve(process.env.CDK8S_OUTDIR ?? 'dist'), { recursive: true, force: true });

// What build/synth/ was made from: esbuild's version and options, and each source's hash.
// Other options or another esbuild: everything is transpiled again.
const stampFile = path.join(out, '.sources.json');
const settings = JSON.stringify({ esbuild: require('esbuild/package.json').version, ...OPTIONS });
let built = {};
try {
  const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  if (stamp.settings === settings) built = stamp.hashes;
} catch {
  // no stamp yet: a fresh build
}

const sources = new Map([path.join(root, 'main.ts'), ...APP_FOLDERS.flatMap((f) => filesBelow(path.join(root, f)))]
  .flatMap((file) => (outputOf(file) ? [[outputOf(file), { file, hash: hashOf(file) }]] : [])));
// An output whose source was deleted must not be found by a stale import.
for (const file of filesBelow(out)) {
  if (file !== stampFile && !sources.has(file)) fs.rmSync(file);
}
const stale = [...sources].filter(([output, source]) => built[output] !== source.hash || !fs.existsSync(output));
const transpile = stale.filter(([, source]) => source.file.endsWith('.ts')).map(([, source]) => source.file);
// esbuild loaded only when there is work for it (about 10 ms).
if (transpile.length > 0) require('esbuild').buildSync({ ...OPTIONS, entryPoints: transpile });
for (const [output, source] of stale.filter(([, s]) => !s.file.endsWith('.ts'))) fs.cpSync(source.file, output);
const hashes = Object.fromEntries([...sources].map(([output, source]) => [output, source.hash]));
fs.writeFileSync(stampFile, JSON.stringify({ settings, hashes }));

require(path.join(out, 'main.js'));
