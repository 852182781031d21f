import { ENVIRONMENTS } from './lib/environments';
import { synthEnvironment } from './test/support/synth';

// One snapshot per environment: any change to what `kubectl apply -f dist/<env>/` would
// apply shows up in review. `npm run synth` refreshes them together with dist/; CI (`jest --ci`)
// never writes them.
describe.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('environment %s', (_name, environment) => {
  test('synthesizes the same manifests as the snapshot', () => {
    expect(synthEnvironment(environment).objects).toMatchSnapshot();
  });
});
