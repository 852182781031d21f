import { execFileSync, execSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { buildApps } from '../../lib/app';

const ROOT = path.join(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');

/** Every file below `dir`, as relative path → content. */
function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as any).path, entry.name);
    files[path.relative(dir, file)] = readFileSync(file, 'utf8');
  }
  return files;
}

// The committed dist/ is what reviewers read and `kubectl apply` applies: it must be exactly
// what the code synthesizes, file for file. On failure: run `npm run synth` (it refreshes dist/
// and the snapshots together) and commit both.
test('committed dist/ equals a fresh synth', () => {
  const fresh = mkdtempSync(path.join(tmpdir(), 'ard-dist-'));
  try {
    for (const app of buildApps(fresh)) app.synth();
    const committed = readTree(DIST);
    const synthesized = readTree(fresh);
    expect(Object.keys(committed).sort()).toEqual(Object.keys(synthesized).sort());
    for (const file of Object.keys(synthesized)) {
      expect({ file, content: committed[file] }).toEqual({ file, content: synthesized[file] });
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});

// `npm run synth` runs the app itself, without the cdk8s CLI (whose start-up took most of the
// time): it must write exactly what `npx cdk8s synth` writes, removing what was there before.
test('npm run synth writes the same files as `npx cdk8s synth`, byte for byte, into an emptied folder', () => {
  const synthStep = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.synth as string).split(' && ')[0];
  const [viaCli, viaNpm] = ['cli', 'npm'].map((name) => {
    const dir = mkdtempSync(path.join(tmpdir(), `ard-synth-${name}-`));
    // A file of an object the code no longer makes.
    mkdirSync(path.join(dir, 'prod', 'workers'), { recursive: true });
    writeFileSync(path.join(dir, 'prod', 'workers', 'Job.removed.k8s.yaml'), 'kind: Job\n');
    return dir;
  });
  try {
    // The CLI `npx cdk8s` finds, without npx's own start-up.
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade=false', '--output', viaCli], { cwd: ROOT, stdio: 'pipe' });
    execSync(synthStep, { cwd: ROOT, env: { ...process.env, CDK8S_OUTDIR: viaNpm }, stdio: 'pipe' });
    const fromNpm = readTree(viaNpm);
    expect(fromNpm).toEqual(readTree(viaCli));
    expect(fromNpm).toEqual(readTree(DIST));
  } finally {
    for (const dir of [viaCli, viaNpm]) rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

// `kubectl apply -f dist/<env>/queue/` and `kubectl delete -f dist/<env>/workers/` must never
// touch the namespace or the data volume: only the namespace stage holds the Namespace, and no
// stage holds a PersistentVolumeClaim (the StatefulSet's claim template creates it, and retains it).
// The keda environment's workers are a ScaledJob: KEDA creates the Jobs.
test.each([['dev', 'Job'], ['prod', 'Job'], ['keda', 'ScaledJob']])('dist/%s: the Namespace only in namespace/, no PVC anywhere, %s only in workers/', (env, workerKind) => {
  const files = Object.keys(readTree(path.join(DIST, env)));
  const kinds = (stage: string) => files.filter((f) => f.startsWith(stage + path.sep)).map((f) => path.basename(f).split('.')[0]);
  expect(kinds('namespace')).toEqual(['Namespace']);
  expect(kinds('queue')).not.toContain('Namespace');
  expect(kinds('workers')).not.toContain('Namespace');
  expect(files.filter((f) => /PersistentVolumeClaim/.test(f))).toEqual([]);
  expect(kinds('workers')).toContain(workerKind);
  expect(kinds('queue')).not.toContain(workerKind);
});
