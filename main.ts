import { buildApps } from './lib/app';
import { reportWorkerRestarts } from './lib/worker-restarts';

const apps = buildApps();
for (const app of apps) {
  app.synth();
}
// Says which workflows' workers this change restarts, compared with the committed dist/.
reportWorkerRestarts(apps);
