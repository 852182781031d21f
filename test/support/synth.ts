import { Chart, Testing } from 'cdk8s';
import { EnvironmentConfig } from '../../lib/environments';
import { Stage, STAGES, WorkQueueStages } from '../../lib/work-queue-chart';
import { Manifest } from './manifests';

// Apart from test/support/manifests.ts: loading the constructs (cdk8s-plus, the imports) costs a
// test file about 0.2 CPU-s, and the tests of the committed dist/ do not need them.

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
