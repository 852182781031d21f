import { printable } from '../terminal';
import { redisEndpointOf, integerFlag, parseCommandArgs, resolveTarget, stringFlag, workflowHelp } from '../args';
import { optionsHelp, pickOptions } from '../options';
import type { CliContext, Subcommand } from '../context';
import { EXIT } from '../errors';
import { withRedis } from '../redis';
import { DeadLetter, listDeadLetters } from '../recovery';

/** A plain-text table of dead letters: attempts, then the scene ID (or the whole item if it has none). */
export function formatDeadLetters(queue: string, total: number, items: readonly DeadLetter[]): string {
  if (total === 0) return `${queue}: no dead-lettered items\n`;
  const shown = items.length < total ? ` (showing the first ${items.length})` : '';
  const rows = items.map((d) => `  ${String(d.attempts).padStart(8)}  ${printable(d.scene ?? d.item)}`);
  return `${queue}: ${total} dead-lettered item${total === 1 ? '' : 's'}${shown}\n  attempts  scene (or item)\n${rows.join('\n')}\n`;
}

const OPTIONS = pickOptions(['workflow', 'queue', 'redis-url', 'password-file', 'timeout', 'limit', 'json'], {
  json: 'print {queue, workflow, total, items: [{item, scene, attempts}]}',
});

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('dead-letters', args, OPTIONS, false);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const limit = integerFlag(values, 'limit', 1);
  const redisUrl = redisEndpointOf(values, ctx.env);
  const { total, items } = await withRedis(redisUrl, (redis) => listDeadLetters(redis, target.queue, { limit }));
  if (values.json) ctx.stdout.write(JSON.stringify({ queue: target.queue, workflow: target.workflow.name, total, items }) + '\n');
  else ctx.stdout.write(formatDeadLetters(target.queue, total, items));
  return EXIT.ok;
}

const HELP = `Usage: ard-queue dead-letters [--workflow NAME | --queue NAME] [--limit N] [--redis-url URL] [--json]

Lists the dead-letter list <queue>:dead_letter, oldest first: items whose workers died
--max-attempts times (requeue-expired), with their attempt counts. Workers never see them
again until 'retry-dead-letters' puts them back.

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `dead-letters`: list the items set aside after too many failed attempts. */
export const deadLettersCommand: Subcommand = {
  summary: 'list dead-lettered items (failed --max-attempts times) with their attempts',
  help: HELP,
  run: run,
};
