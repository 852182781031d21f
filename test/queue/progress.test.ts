import { renderProgress } from '../../queue/progress';



describe('progress', () => {
  test('progress bar frame', () => {
    expect(renderProgress(250_000, 1_000_000, 1234)).toBe('[#####---------------]  25% 250,000/1,000,000 scenes 1.2 s');
  });
});
