import type { WorkflowDefinition } from '../lib/workflows';
import { sceneProblem } from './items';
import type { SceneLine } from './scene-lines';

/** How many bad lines are listed before "… and N more". */
export const MAX_REPORTED_PROBLEMS = 20;

/** The outcome of validating the whole input. */
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
 * Validates every scene ID of `lines`, streaming, in one pass. `onValid` gets each valid scene
 * ID in input order until the first invalid line; after it only validation goes on, so that all
 * bad lines can be reported (and nothing is pushed).
 */
export async function validateScenes(
  lines: AsyncIterable<SceneLine[]>,
  workflow: WorkflowDefinition,
  onValid?: (scene: string) => void,
  unit: 'line' | 'argument' = 'line',
): Promise<ValidationReport> {
  let valid = 0;
  let invalid = 0;
  const problems: string[] = [];
  for await (const chunk of lines) {
    for (const { line, scene } of chunk) {
      const problem = sceneProblem(workflow, scene);
      if (problem === undefined) {
        valid += 1;
        if (invalid === 0) onValid?.(scene);
      } else {
        invalid += 1;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${unit} ${line}: ${problem}`);
      }
    }
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
