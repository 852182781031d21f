/**
 * Synth speed, side by side with `node -e 0` in the same run (bench/interleaved.ts): the app as
 * `npm run synth` runs it (its first step, scripts/synth.cjs) with nothing changed since the last
 * synth, after a change to one construct file, and from a fresh checkout (no build/synth/), and
 * `npx cdk8s synth` (the same script under the cdk8s CLI). Target (issue 14): ≤ 10× `node -e 0`.
 *
 *   npm run bench:synth        (BENCH_ROUNDS=… rounds, default 9)
 *
 * It synthesizes into dist/ as `npm run synth` does (the worker-restart check reads the committed
 * dist/ at git HEAD): dist/ must be committed before, and is checked to be unchanged after.
 */
import { execFileSync } from 'child_process';
import { readFileSync, rmSync } from 'fs';
import * as path from 'path';
import { Command, interleaved, machine, ratioRow, Row, setting, table } from './interleaved';

const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'build', 'synth');

/** The reference of every start-up figure: node starting and doing nothing. */
export const NODE_NOTHING: Command = { command: 'node', args: ['-e', '0'] };

function distChanges(): string {
  return execFileSync('git', ['status', '--porcelain', '--', 'dist'], { cwd: ROOT, encoding: 'utf8' });
}

/** The synth figures, each against `node -e 0`. */
export async function synthRows(rounds: number): Promise<Row[]> {
  if (distChanges() !== '') throw new Error('dist/ has uncommitted changes: commit them (or run `npm run synth`) before the synth benchmark, which writes dist/');
  // The app step of `npm run synth`, as package.json has it.
  const step = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.synth as string).split(' && ')[0];
  const synth = (before?: () => void): Command => ({ command: 'sh', args: ['-c', step], cwd: ROOT, before });
  const limit = 10;
  const rows = [
    ratioRow(`\`${step}\` (npm run synth), nothing changed since the last synth`, '`node -e 0`', await interleaved(synth(), NODE_NOTHING, rounds), limit),
    ratioRow(
      `same, after a change to one construct file (lib/work-queue-job.ts)`,
      '`node -e 0`',
      await interleaved(synth(() => rmSync(path.join(BUILD, 'lib', 'work-queue-job.js'), { force: true })), NODE_NOTHING, rounds),
      limit,
    ),
    ratioRow(
      'same, fresh checkout (no build/synth/: every file transpiled)',
      '`node -e 0`',
      await interleaved(synth(() => rmSync(BUILD, { recursive: true, force: true })), NODE_NOTHING, rounds),
      limit,
    ),
    ratioRow(
      '`npx cdk8s synth --check-upgrade=false` (the same app under the cdk8s CLI)',
      '`node -e 0`',
      await interleaved({ command: 'npx', args: ['cdk8s', 'synth', '--check-upgrade=false'], cwd: ROOT }, NODE_NOTHING, rounds),
    ),
  ];
  const changed = distChanges();
  if (changed !== '') throw new Error(`synth changed dist/ (the code and the committed dist/ differ):\n${changed}`);
  return rows;
}

if (require.main === module) {
  const rounds = setting('BENCH_ROUNDS', 9);
  synthRows(rounds)
    .then((rows) => process.stdout.write(`${machine()}; ${rounds} rounds after a warm-up\n\n${table(rows)}`))
    .catch((err) => {
      process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
      process.exitCode = 1;
    });
}
