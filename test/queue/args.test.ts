import { LANDSAT, SENTINEL_1, SENTINEL_2 } from '../../protocol/workflows';
import { resolveTarget } from '../../queue/args';

const S2_TARGET = { workflow: SENTINEL_2, queue: 'jobS2' };

describe('arguments', () => {
  test('--queue alone selects the workflow owning it; --workflow gives its queue', () => {
    expect(resolveTarget(undefined, 'jobLS')).toEqual({ workflow: LANDSAT, queue: 'jobLS' });
    expect(resolveTarget('s1', undefined)).toEqual({ workflow: SENTINEL_1, queue: 'jobS1' });
    expect(resolveTarget('s2', 'jobS2test')).toEqual({ workflow: SENTINEL_2, queue: 'jobS2test' });
    expect(resolveTarget(undefined, undefined)).toEqual(S2_TARGET);
  });

  test('refuses unknown workflows and ownerless queues with what is allowed', () => {
    expect(() => resolveTarget('s3', undefined)).toThrow("unknown --workflow 's3'; known workflows: s2, ls, s1");
    expect(() => resolveTarget(undefined, 'jobX')).toThrow(
      "no workflow owns queue 'jobX' (known queues: jobS2 (s2), jobLS (ls), jobS1 (s1)); add --workflow NAME to choose its scene-ID rule and item fields",
    );
    expect(() => resolveTarget('s2', 'a b')).toThrow("--queue must be 1-100 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit, got 'a b'");
  });
});
