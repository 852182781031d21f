import { buildApps } from './lib/app';

for (const app of buildApps()) {
  app.synth();
}
