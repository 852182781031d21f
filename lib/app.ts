import * as path from 'path';
import { App, YamlOutputType } from 'cdk8s';
import { ENVIRONMENTS, EnvironmentConfig } from './environments';
import { WorkQueueChart } from './work-queue-chart';

/** The chart id, and so the file name: `dist/<env>/ard-workqueue.k8s.yaml`. */
export const CHART_ID = 'ard-workqueue';

/**
 * One cdk8s App per environment, each writing to `<outdir>/<environment name>/`, so that
 * `kubectl apply -f dist/<env>/` applies exactly one environment.
 *
 * @param outdir where `cdk8s synth` wants output (it sets CDK8S_OUTDIR)
 */
export function buildApps(
  outdir: string = process.env.CDK8S_OUTDIR ?? 'dist',
  environments: readonly EnvironmentConfig[] = ENVIRONMENTS,
): App[] {
  return environments.map((environment) => {
    const app = new App({ outdir: path.join(outdir, environment.name), yamlOutputType: YamlOutputType.FILE_PER_CHART });
    new WorkQueueChart(app, CHART_ID, environment);
    return app;
  });
}
