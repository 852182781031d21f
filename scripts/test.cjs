// `npm test`: type-checks, lints and builds the queue tool side by side, then runs jest once the
// build is there (the CLI tests run build/), and fails if any of them fails. Arguments go to jest
// (`npm test -- test/queue`). Type-checking and lint run at low priority: they only need to
// finish within jest's run, while jest's tests time real processes.
const { spawn } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
// The tests talk to loopback servers only (the TLS test names its own CA). A machine-wide
// NODE_EXTRA_CA_CERTS (some CI machines point it at the system bundle) makes every node process
// parse that bundle at start-up, about 50 ms of CPU each, and the tests start hundreds.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
// `npm run typecheck` as package.json states it, `node <tsc> …`, without npm's start-up: TypeScript
// 7's native compiler, single-threaded (its parallel checkers repeat work, and jest wants the
// other core); TypeScript 5 stays for the users of its JavaScript API (README, Testing).
const [, ...TYPECHECK_ARGS] = require(path.join(root, 'package.json')).scripts.typecheck.split(' ');

/** Runs a check with its output held back until it ends; resolves to its exit code. */
function quietly(label, command, args) {
  const started = Date.now();
  const child = spawn('nice', ['-n', '10', command, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

Promise.all([
  quietly('tsc --noEmit', process.execPath, TYPECHECK_ARGS),
  quietly('eslint', bin('eslint'), ['.']),
  loudly(process.execPath, [path.join(root, 'scripts', 'build.cjs')]).then((built) =>
    built === 0 ? loudly(bin('jest'), ['--ci', ...process.argv.slice(2)]) : built),
]).then((codes) => {
  process.exitCode = codes.find((code) => code !== 0) ?? 0;
});
