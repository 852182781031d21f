import * as path from 'path';
import { App, YamlOutputType } from 'cdk8s';
import { ENVIRONMENTS, EnvironmentConfig } from './environments';
import { WorkQueueStages } from './work-queue-chart';

/**
 * One cdk8s App per environment, writing `<outdir>/<environment name>/<stage>/`, one file per
 * object (`<Kind>.<name>.k8s.yaml`): `kubectl apply -f dist/<env>/<stage>/` applies exactly one
 * stage of one environment, and a renamed worker Job shows as a renamed file in review.
 *
 * @param outdir where `cdk8s synth` wants output (it sets CDK8S_OUTDIR)
 */
export function buildApps(
  outdir: string = process.env.CDK8S_OUTDIR ?? 'dist',
  environments: readonly EnvironmentConfig[] = ENVIRONMENTS,
): App[] {
  return environments.map((environment) => {
    const app = new App({ outdir: path.join(outdir, environment.name), yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE });
    new WorkQueueStages(app, environment);
    return app;
  });
}
