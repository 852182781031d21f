import { Chart, Testing } from 'cdk8s';
import { EnvironmentConfig } from '../../lib/environments';
import { Stage, STAGES, WorkQueueStages } from '../../lib/work-queue-chart';

/** A synthesized Kubernetes object, as plain data. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

/**
 * Synthesizes one environment in memory (no files written): its stages, the objects of each
 * stage, and all objects in apply order (namespace, queue, workers).
 */
export function synthEnvironment(environment: EnvironmentConfig): {
  stages: WorkQueueStages;
  byStage: Record<Stage, Manifest[]>;
  objects: Manifest[];
} {
  const stages = new WorkQueueStages(Testing.app(), environment);
  const byStage = Object.fromEntries(STAGES.map((stage) => [stage, Testing.synth(stages.charts[stage]) as Manifest[]])) as Record<Stage, Manifest[]>;
  return { stages, byStage, objects: STAGES.flatMap((stage) => byStage[stage]) };
}

/** Synthesizes whatever a test built inside `build(chart)`. */
export function synthChart(build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'test' });
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

export function ofKind(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

/** The one object of `kind` (and `name`, when given); fails loudly when there is not exactly one. */
export function onlyOfKind(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0];
}
