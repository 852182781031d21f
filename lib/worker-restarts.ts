/**
 * Which workflows' workers a synth restarts: the worker Jobs just synthesized compared with
 * those in the committed `dist/` (git HEAD), so that `npm run synth` says, in the pull request
 * that makes the change, that in-flight scenes will be redone.
 *
 * A worker Job's name ends in the hash of its pod template; a new hash is a new Job, whose
 * rollout replaces the old Job's pods (README, "Rolling out a new worker template").
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import type { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { WORKFLOW_LABEL } from './labels';
import { WorkQueueJob } from './work-queue-job';

/** A worker Job: the workflow it serves and its name. */
export interface WorkerJobRef {
  readonly workflow: string;
  readonly name: string;
}

/** What a synth does to the workers of one environment, one line per workflow it affects. */
export function workerRestarts(environment: string, committed: readonly WorkerJobRef[], synthesized: readonly WorkerJobRef[]): string[] {
  const byWorkflow = (jobs: readonly WorkerJobRef[]) => new Map(jobs.map((j) => [j.workflow, j.name]));
  const before = byWorkflow(committed);
  const after = byWorkflow(synthesized);
  const lines: string[] = [];
  for (const [workflow, name] of after) {
    const old = before.get(workflow);
    if (old === undefined) {
      lines.push(`${environment}: this change adds the workers of ${workflow} (${name}); they start when dist/${environment}/workers/ is applied`);
    } else if (old !== name) {
      lines.push(
        `${environment}: this change restarts the workers of ${workflow} (${old} -> ${name}): in-flight scenes are redone. ` +
        `Roll out with: ${replaceCommand(environment, workflow)}`,
      );
    }
  }
  for (const [workflow, name] of before) {
    if (!after.has(workflow)) {
      lines.push(`${environment}: this change removes the workers of ${workflow}; stop them with: kubectl delete job ${name} -n <namespace>`);
    }
  }
  return lines;
}

/**
 * The one-step replacement of a workflow's worker Job: applies the workflow's Job from the
 * workers stage and prunes every other `batch/v1` Job with the workflow's label (nothing else:
 * no Namespace, no PersistentVolumeClaim).
 */
export function replaceCommand(environment: string, workflow: string): string {
  return `kubectl apply -f dist/${environment}/workers/ -l ${WORKFLOW_LABEL}=${workflow} --prune --prune-allowlist=batch/v1/Job`;
}

/** The worker Jobs of the given objects (kind Job with the workflow label). */
export function workerJobsOf(objects: readonly unknown[]): WorkerJobRef[] {
  return objects.flatMap((o) => {
    const object = o as { kind?: string; metadata?: { name?: string; labels?: Record<string, string> } } | null;
    const workflow = object?.metadata?.labels?.[WORKFLOW_LABEL];
    return object?.kind === 'Job' && workflow !== undefined && object.metadata?.name !== undefined
      ? [{ workflow, name: object.metadata.name }]
      : [];
  });
}

/** A line `kind: Job` (plain or quoted) of a YAML document. */
const JOB_KIND = /^kind: *(Job|"Job"|'Job') *$/m;

/**
 * The worker Jobs committed under each of `dirs` (every `*.k8s.yaml` below it at git HEAD,
 * whatever the layout), in the order of `dirs`, or undefined when they are not in a git work tree
 * with a HEAD. Two git processes for all folders: each one costs more than the reading.
 */
export function committedWorkerJobs(dirs: readonly string[], cwd: string = process.cwd()): WorkerJobRef[][] | undefined {
  const git = (args: string[], input?: string) =>
    execFileSync('git', args, { cwd, input, stdio: ['pipe', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
  // Paths relative to `cwd`, as ls-tree prints them without --full-name; `HEAD:./path` reads them.
  const folders = dirs.map((dir) => path.relative(cwd, path.resolve(cwd, dir)).split(path.sep).join('/'));
  let files: string[];
  try {
    files = git(['ls-tree', '-r', '--name-only', 'HEAD', '--', ...folders.map((f) => f || '.')])
      .toString('utf8').split('\n').filter((f) => f.endsWith('.k8s.yaml'));
  } catch {
    return undefined;
  }
  const jobs = folders.map((): WorkerJobRef[] => []);
  if (files.length === 0) return jobs;
  // One git process for all files: `<sha> blob <size>\n<content>\n` per file, in the order asked.
  const batch = git(['cat-file', '--batch'], files.map((f) => `HEAD:./${f}\n`).join(''));
  let at = 0;
  for (const file of files) {
    const headerEnd = batch.indexOf(10, at);
    const size = Number(batch.toString('utf8', at, headerEnd).split(' ')[2]);
    const content = batch.toString('utf8', headerEnd + 1, headerEnd + 1 + size);
    at = headerEnd + 1 + size + 1;
    // Only files holding a Job are parsed: parsing every committed file was most of synth's time.
    if (!JOB_KIND.test(content)) continue;
    const found = workerJobsOf(parseAllDocuments(content).map((d) => d.toJSON()));
    folders.forEach((folder, i) => {
      if (folder === '' || file.startsWith(`${folder}/`)) jobs[i].push(...found);
    });
  }
  return jobs;
}

/** Prints, on stderr (cdk8s synth shows only the app's stderr), what the synth of `apps` does to the workers. */
export function reportWorkerRestarts(apps: readonly App[], write: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  const committedByApp = committedWorkerJobs(apps.map((app) => app.outdir));
  if (committedByApp === undefined) return;
  apps.forEach((app, i) => {
    const committed = committedByApp[i];
    const synthesized = app.node.findAll().filter((c): c is WorkQueueJob => c instanceof WorkQueueJob)
      .map((job) => ({ workflow: job.workflow.name, name: job.jobName }));
    for (const line of workerRestarts(path.basename(app.outdir), committed, synthesized)) write(line);
  });
}
