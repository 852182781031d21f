// `npm test`: builds the queue tool (the CLI tests run build/), then type-checks, lints and runs
// jest side by side, and fails if any of them fails. Arguments go to jest
// (`npm test -- test/queue`). Type-checking and lint run at low priority: they only need to
// finish within jest's run, while jest's tests time real processes.
const { spawn, spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.cjs')], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

/** Runs a check with its output held back until it ends; resolves to its exit code. */
function quietly(label, command, args) {
  const started = Date.now();
  const child = spawn('nice', ['-n', '10', command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(code === 0 ? `${label}: passed (${seconds} s)\n` : `${label}: FAILED (exit ${code})\n${output}\n`);
      resolve(code ?? 1);
    });
  });
}

function loudly(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

Promise.all([
  quietly('tsc --noEmit', bin('tsc'), ['--noEmit']),
  quietly('eslint', bin('eslint'), ['.']),
  loudly(bin('jest'), ['--ci', ...process.argv.slice(2)]),
]).then((codes) => {
  process.exitCode = codes.find((code) => code !== 0) ?? 0;
});
