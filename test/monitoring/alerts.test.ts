import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { PROD } from '../../lib/environments';
import { synthEnvironment } from '../support/synth';
import { committedObject } from './support';

// The rules exactly as dist/prod applies them (spec.groups of the committed PrometheusRule),
// checked and unit-tested with Debian's promtool, the way Prometheus users test theirs.

// Real processes on a machine shared with other test runs: generous, event-driven waits.
jest.setTimeout(60_000);

const PROMTOOL = '/usr/bin/promtool';
const UNIT_TESTS = path.join(__dirname, 'alerts.promtool.yaml');
const README = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

const committedRule = committedObject('prod', 'PrometheusRule', 'ard-workqueue');

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(tmpdir(), 'ard-rules-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs promtool in `dir` on `groups` as rules.yaml, next to the unit tests as alerts.promtool.yaml
 * (UNIT_TESTS as committed, or `unitTests` when given).
 */
function promtool(groups: unknown, args: string[], unitTests?: UnitTests): { status: number | null; output: string } {
  writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }));
  if (unitTests) writeFileSync(path.join(dir, 'alerts.promtool.yaml'), stringify(unitTests));
  else copyFileSync(UNIT_TESTS, path.join(dir, 'alerts.promtool.yaml'));
  const result = spawnSync(PROMTOOL, args, { cwd: dir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The unit test file: its test groups, each with its alert cases. */
interface UnitTests { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> }
const unitTests = (): UnitTests => parse(readFileSync(UNIT_TESTS, 'utf8'));

interface Rule { alert?: string; record?: string; expr: string; annotations?: Record<string, string> }
const alerts: Rule[] = committedRule.spec.groups.flatMap((g: { rules: Rule[] }) => g.rules).filter((r: Rule) => r.alert !== undefined);

test('dist/prod has the alerts of the issue (recovery failing and not run are two), and one for Redis down', () => {
  expect(alerts.map((a) => a.alert)).toEqual([
    'ArdQueueItemsExpired', 'ArdQueueDeadLetters', 'ArdQueueNoProgress', 'ArdQueueRecoveryFailed',
    'ArdQueueRecoveryNotRun', 'ArdRedisMemoryHigh', 'ArdRedisDown', 'ArdWorkerJobFailed',
  ]);
});

test('promtool check rules accepts the rules as synthesized', () => {
  const { status, output } = promtool(committedRule.spec.groups, ['check', 'rules', 'rules.yaml']);
  expect(output).toContain('SUCCESS: 14 rules found');
  expect(status).toBe(0);
});

test('promtool check rules rejects a broken expression (the check can fail)', () => {
  const broken = [{ name: 'broken', rules: [{ alert: 'Broken', expr: 'ard_queue_pending >' }] }];
  const { status, output } = promtool(broken, ['check', 'rules', 'rules.yaml']);
  expect(status).toBe(1);
  expect(output).toContain('could not parse expression');
});

test('promtool test rules: every alert fires and stays quiet where it should', () => {
  const { status, output } = promtool(committedRule.spec.groups, ['test', 'rules', 'alerts.promtool.yaml']);
  expect(output).toContain('SUCCESS');
  expect(status).toBe(0);
});

test('the unit tests fail on rules with another threshold (they pin the behaviour)', () => {
  const objects = synthEnvironment({ ...PROD, monitoring: { ...PROD.monitoring, alerts: { memoryRatio: 0.9, noProgressHours: 3 } } }).objects;
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
  // Only the test groups in which these two alerts fire: a higher threshold can only keep an
  // alert quiet longer, so only those can fail (the others, hours of series, take most of
  // promtool's time). Any failing group fails the whole file.
  const raised = ['ArdRedisMemoryHigh', 'ArdQueueNoProgress'];
  const all = unitTests();
  const firing = { ...all, tests: all.tests.filter((t) => t.alert_rule_test?.some((c) => raised.includes(c.alertname) && c.exp_alerts.length > 0)) };
  expect(firing.tests).toHaveLength(2);
  const { status, output } = promtool(rule.spec.groups, ['test', 'rules', 'alerts.promtool.yaml'], firing);
  expect(status).toBe(1);
  expect(output).toContain('alertname: ArdRedisMemoryHigh, time: 8m');
  expect(output).toContain('alertname: ArdQueueNoProgress, time: 2h');
});

test('every alert has a firing and a non-firing unit test', () => {
  const cases = unitTests().tests.flatMap((t) => t.alert_rule_test ?? []);
  const coverage = Object.fromEntries(alerts.map((a) => [a.alert, {
    fires: cases.some((c) => c.alertname === a.alert && c.exp_alerts.length > 0),
    quiet: cases.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0),
  }]));
  expect(coverage).toEqual(Object.fromEntries(alerts.map((a) => [a.alert, { fires: true, quiet: true }])));
});

test("each alert's runbook_url points at its section of the README", () => {
  const anchors = new Set(README.split('\n').filter((l) => l.startsWith('#'))
    .map((l) => l.replace(/^#+\s*/, '').trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
  for (const a of alerts) {
    const url = a.annotations?.runbook_url ?? '';
    expect({ alert: a.alert, url }).toEqual({ alert: a.alert, url: `${PROD.monitoring!.runbookUrl}#${a.alert!.toLowerCase()}` });
    expect({ alert: a.alert, hasSection: anchors.has(a.alert!.toLowerCase()) }).toEqual({ alert: a.alert, hasSection: true });
  }
});

test("every query of dist/prod's dashboard is valid PromQL", () => {
  const dashboard = JSON.parse(committedObject('prod', 'ConfigMap', 'ard-workqueue-dashboard').data['ard-workqueue.json']);
  const queries: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
  expect(queries.length).toBeGreaterThanOrEqual(10);
  const groups = [{ name: 'dashboard', rules: queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }];
  const { status, output } = promtool(groups, ['check', 'rules', 'rules.yaml']);
  expect(output).toContain(`SUCCESS: ${queries.length} rules found`);
  expect(status).toBe(0);
});
