/**
 * Synth speed: median wall time of `npx cdk8s synth` as users run it, next to its parts,
 * measured in the same run. Target: at most 1.5 s median on a 2-core machine.
 *
 *   npm run bench:synth [-- RUNS]      (default 11 runs per command)
 *
 * Synthesizes into a temporary folder (CDK8S_OUTDIR / --output), so dist/ is not touched.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const runs = Number(process.argv[2] ?? 11);
const outdir = mkdtempSync(path.join(tmpdir(), 'ard-synth-bench-'));

const commands: Array<[label: string, command: string]> = [
  ['npx cdk8s synth --check-upgrade=false (npm run synth)', `npx cdk8s synth --check-upgrade=false --output ${outdir}`],
  ['npx cdk8s synth (upgrade check on, version cached)', `npx cdk8s synth --output ${outdir}`],
  ['the app alone: node --import tsx main.ts', `CDK8S_OUTDIR=${outdir} node --import tsx main.ts`],
  ['baseline: node -e 0', 'node -e 0'],
];

function wallSeconds(command: string): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, { shell: true, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  for (const [, command] of commands) wallSeconds(command); // warm caches (tsx, file system)
  console.log(`| command | median (s) | min (s) | max (s) |  (${runs} runs each)`);
  console.log('|---|---|---|---|');
  for (const [label, command] of commands) {
    const times = Array.from({ length: runs }, () => wallSeconds(command));
    console.log(`| ${label} | ${median(times).toFixed(2)} | ${Math.min(...times).toFixed(2)} | ${Math.max(...times).toFixed(2)} |`);
  }
  console.log('target: npm run synth median <= 1.50 s');
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
