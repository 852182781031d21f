import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { DEV, PROD } from '../../lib/environments';
import { committedWorkerJobs, replaceCommand, workerJobsOf, workerRestarts } from '../../lib/worker-restarts';
import { synthEnvironment } from '../support/synth';

const jobsOf = (environment: typeof PROD) => workerJobsOf(synthEnvironment(environment).byStage.workers);
const prodJobs = jobsOf(PROD);
const withS2 = (change: object) => ({ ...PROD, workflows: [{ ...PROD.workflows[0], ...change }] });

describe('workerRestarts: what `npm run synth` says about the workers', () => {
  test('a new pod template restarts the workers of its workflow, and says how to roll it out', () => {
    const changed = jobsOf(withS2({ image: 'satapps/ard-workflow-s2:0.4.1' }));
    expect(changed[0].name).not.toBe(prodJobs[0].name);
    expect(workerRestarts('prod', prodJobs, changed)).toEqual([
      `prod: this change restarts the workers of s2 (${prodJobs[0].name} -> ${changed[0].name}): in-flight scenes are redone. ` +
      'Roll out with: kubectl apply -f dist/prod/workers/ -l ard-workqueue/workflow=s2 --prune --prune-allowlist=batch/v1/Job',
    ]);
  });

  test('the same template, or a new parallelism (patched in place), restarts nothing', () => {
    expect(workerRestarts('prod', prodJobs, prodJobs)).toEqual([]);
    expect(workerRestarts('prod', prodJobs, jobsOf(withS2({ parallelism: 40 })))).toEqual([]);
  });

  test('an added or removed workflow is announced too', () => {
    const added = [...prodJobs, { workflow: 'ls', name: 'ls-worker-0123456789' }];
    expect(workerRestarts('prod', prodJobs, added)).toEqual([
      'prod: this change adds the workers of ls (ls-worker-0123456789); they start when dist/prod/workers/ is applied',
    ]);
    expect(workerRestarts('prod', added, prodJobs)).toEqual([
      'prod: this change removes the workers of ls; stop them with: kubectl delete job ls-worker-0123456789 -n <namespace>',
    ]);
  });

  test('the replace command prunes only batch/v1 Jobs with the workflow label', () => {
    expect(replaceCommand('dev', 's2')).toBe('kubectl apply -f dist/dev/workers/ -l ard-workqueue/workflow=s2 --prune --prune-allowlist=batch/v1/Job');
  });
});

describe('committedWorkerJobs: the worker Jobs at git HEAD', () => {
  const repo = mkdtempSync(path.join(tmpdir(), 'ard-restarts-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], { cwd: repo, stdio: 'pipe' });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  test('reads the committed Jobs, not the working tree, in any layout below the folder', () => {
    git('init', '-q');
    const objects = synthEnvironment(PROD).objects;
    mkdirSync(path.join(repo, 'dist', 'prod'), { recursive: true });
    // The layout before the stages: one file for everything.
    writeFileSync(path.join(repo, 'dist', 'prod', 'ard-workqueue.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    git('add', '-A');
    git('commit', '-q', '-m', 'dist');
    rmSync(path.join(repo, 'dist'), { recursive: true }); // as `cdk8s synth` empties dist/ first
    expect(committedWorkerJobs(['dist/prod', 'dist/dev'], repo)).toEqual([prodJobs, []]);
    expect(committedWorkerJobs(['dist/dev', 'dist/prod'], repo)).toEqual([[], prodJobs]);
  });

  test('reads several folders at once, each its own Jobs; a folder holding others holds their Jobs', () => {
    git('init', '-q');
    const devJobs = jobsOf(DEV);
    for (const [environment, objects] of [['dev', synthEnvironment(DEV).objects], ['prod', synthEnvironment(PROD).objects]] as const) {
      mkdirSync(path.join(repo, 'dist', environment, 'workers'), { recursive: true });
      for (const [i, object] of objects.entries()) writeFileSync(path.join(repo, 'dist', environment, 'workers', `${i}.k8s.yaml`), stringify(object));
    }
    git('add', '-A');
    git('commit', '-q', '-m', 'dist, one file per object');
    expect(devJobs.length).toBeGreaterThan(0);
    expect(committedWorkerJobs(['dist/dev', 'dist/prod', 'dist'], repo)).toEqual([devJobs, prodJobs, [...devJobs, ...prodJobs]]);
  });

  test('is undefined outside a git work tree (nothing to compare with)', () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'ard-no-git-'));
    try {
      expect(committedWorkerJobs(['dist/prod'], outside)).toBeUndefined();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
