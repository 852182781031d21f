import type { Writable } from 'stream';
import type { WorkflowDefinition } from '../protocol/workflows';
import { sceneProblem } from './items';
import type { SceneLine } from './scene-lines';

/** How many bad lines are listed before "… and N more". */
export const MAX_REPORTED_PROBLEMS = 20;

/** The outcome of the validation pass over the whole input. */
export interface ValidationReport {
  /** Number of valid scene IDs (duplicates included). */
  readonly valid: number;
  /** Number of invalid lines. */
  readonly invalid: number;
  /** What a numbered input unit is called in messages. */
  readonly unit: 'line' | 'argument';
  /** The first MAX_REPORTED_PROBLEMS invalid lines, as `line N: reason` (or `argument N: …`). */
  readonly problems: readonly string[];
}

/**
 * Validates every scene ID of `lines`, streaming. With `spool`, writes the valid scene IDs
 * there, one per line, so input that cannot be read twice (stdin) can be pushed afterwards.
 */
export async function validateScenes(
  lines: AsyncIterable<SceneLine[]>,
  workflow: WorkflowDefinition,
  spool?: Writable,
  unit: 'line' | 'argument' = 'line',
): Promise<ValidationReport> {
  let valid = 0;
  let invalid = 0;
  const problems: string[] = [];
  for await (const chunk of lines) {
    let spooled = '';
    for (const { line, scene } of chunk) {
      const problem = sceneProblem(workflow, scene);
      if (problem === undefined) {
        valid += 1;
        if (spool) spooled += scene + '\n';
      } else {
        invalid += 1;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${unit} ${line}: ${problem}`);
      }
    }
    if (spool && spooled !== '' && !spool.write(spooled)) await new Promise((r) => spool.once('drain', r));
  }
  return { valid, invalid, problems, unit };
}

/** The message of a refused input: every reported line, the count of the rest, and the rule. */
export function formatValidationFailure(report: ValidationReport, source: string, workflow: WorkflowDefinition): string {
  const more = report.invalid - report.problems.length;
  return [
    `${source}: ${report.invalid} invalid ${report.unit}${report.invalid === 1 ? '' : 's'}; nothing was pushed`,
    ...report.problems.map((p) => `  ${p}`),
    ...(more > 0 ? [`  … and ${more} more`] : []),
    `scene IDs of workflow ${workflow.name} must be ${workflow.sceneId.description}`,
  ].join('\n');
}
