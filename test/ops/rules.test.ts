import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogLabelNames, metricNamesInPromQL } from '../../ops/catalog-names.ts';
import { TIER_INTERVAL_SECONDS, TIERS } from '../../shared/model/metrics.ts';
import { promtoolPath } from '../helpers/prometheus.ts';

/**
 * The shipped rules (`ops/rules/`): promtool accepts them and passes their unit tests, every alert has a
 * firing and a silent case, every name they use is one pgotel writes, and the unit tests' input series carry
 * the labels pgotel writes for that metric.
 */

const RULES_DIR = resolve(import.meta.dirname, '..', '..', 'ops', 'rules');
const RULE_FILES = ['pgotel-recording.yml', 'pgotel-alerts.yml'].map((f) => join(RULES_DIR, f));
const TEST_DIR = join(RULES_DIR, 'tests');
const TEST_FILES = readdirSync(TEST_DIR)
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => join(TEST_DIR, f));

/** Resource labels of every series of a target that answered (`up = 0` lacks db_role and db_version). */
const RESOURCE_LABELS = [
  'db_cluster',
  'db_role',
  'db_system',
  'db_version',
  'deployment_environment',
  'instance',
  'job',
  'service_instance_id',
  'service_name',
];
/** The target label (`labels: { team: payments }` in the config file) the unit tests give their targets. */
const TARGET_LABELS = ['team'];

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
}
interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}
interface UnitTests {
  readonly tests: readonly {
    readonly input_series: readonly { readonly series: string }[];
    readonly alert_rule_test?: readonly {
      readonly alertname: string;
      readonly exp_alerts: readonly unknown[];
    }[];
    readonly promql_expr_test?: readonly {
      readonly expr: string;
      readonly exp_samples: readonly unknown[];
    }[];
  }[];
}

function rulesOf(file: string): Rule[] {
  return (parse(readFileSync(file, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
}
const RECORDING = rulesOf(join(RULES_DIR, 'pgotel-recording.yml'));
const ALERTS = rulesOf(join(RULES_DIR, 'pgotel-alerts.yml'));
const UNIT_TESTS = TEST_FILES.map((file) => parse(readFileSync(file, 'utf8')) as UnitTests);

function promtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(promtoolPath(), args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolveRun({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** `name{a="x", b="y"}` → name and label names (values never hold `"` in these files). */
function parseSeries(series: string): { name: string; labels: string[] } {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$/.exec(series);
  if (match === null) throw new Error(`not a series selector: ${series}`);
  const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="[^"]*"/g)].map((m) => m[1] ?? '');
  return { name: match[1] ?? '', labels };
}

describe('ops/rules', () => {
  it('passes promtool check rules', async () => {
    const run = await promtool(['check', 'rules', ...RULE_FILES]);
    expect(run.output).toContain(`SUCCESS: ${RECORDING.length} rules found`);
    expect(run.output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(run.code).toBe(0);
    expect([RECORDING.length, ALERTS.length]).toEqual([8, 16]);
  });

  it('passes its promtool unit tests', async () => {
    const run = await promtool(['test', 'rules', ...TEST_FILES]);
    expect(run.output.match(/SUCCESS/g)?.length, run.output).toBe(TEST_FILES.length);
    expect(run.code).toBe(0);
  });

  it('has, for every alert, a unit test where it fires and one where it must not', () => {
    const cases = UNIT_TESTS.flatMap((t) => t.tests.flatMap((test) => test.alert_rule_test ?? []));
    const coverage = ALERTS.map((rule) => {
      const own = cases.filter((c) => c.alertname === rule.alert);
      return [
        rule.alert,
        own.some((c) => c.exp_alerts.length > 0),
        own.some((c) => c.exp_alerts.length === 0),
      ];
    });
    expect(coverage).toEqual(ALERTS.map((rule) => [rule.alert, true, true]));
  });

  it('has an exact-value unit test for every recording rule', () => {
    const tested = new Set(
      UNIT_TESTS.flatMap((t) => t.tests.flatMap((test) => test.promql_expr_test ?? []))
        .filter((c) => c.exp_samples.length > 0)
        .map((c) => c.expr),
    );
    expect(RECORDING.map((r) => r.record).filter((name) => !tested.has(name ?? ''))).toEqual([]);
  });

  it('uses only metric names from the catalog, or recording rules defined before their use', () => {
    const catalog = catalogLabelNames();
    const recorded = new Set<string>();
    const unknown: string[] = [];
    for (const rule of [...RECORDING, ...ALERTS]) {
      for (const name of metricNamesInPromQL(rule.expr)) {
        if (!catalog.has(name) && !recorded.has(name)) unknown.push(`${rule.alert ?? rule.record}: ${name}`);
      }
      if (rule.record !== undefined) recorded.add(rule.record);
    }
    expect(unknown).toEqual([]);
    // The check sees the names: the alerts use 12 distinct catalog metrics and 3 recording rules.
    const used = new Set(ALERTS.flatMap((r) => metricNamesInPromQL(r.expr)));
    expect([
      [...used].filter((n) => catalog.has(n)).length,
      [...used].filter((n) => recorded.has(n)).length,
    ]).toEqual([12, 3]);
  });

  it("feeds the unit tests series with pgotel's names and exactly its labels", () => {
    const catalog = catalogLabelNames();
    const problems: string[] = [];
    for (const [i, tests] of UNIT_TESTS.entries()) {
      for (const { series } of tests.tests.flatMap((t) => t.input_series)) {
        const { name, labels } = parseSeries(series);
        const own = catalog.get(name);
        if (own === undefined) {
          problems.push(`${TEST_FILES[i]}: ${name} is not in the catalog`);
          continue;
        }
        // A scrape job's `up` (no db_system) is there on purpose: pgotel's rules must ignore it.
        if (name === 'up' && !labels.includes('db_system')) continue;
        const answered = name !== 'up' || labels.includes('db_role');
        const resource = answered
          ? RESOURCE_LABELS
          : RESOURCE_LABELS.filter((l) => l !== 'db_role' && l !== 'db_version');
        const optional = new Set(['application_name']); // left out when empty
        const expected = [...resource, ...TARGET_LABELS, ...own].filter(
          (l) => !optional.has(l) || labels.includes(l),
        );
        if ([...labels].sort().join() !== [...expected].sort().join()) {
          problems.push(`${series}: expected labels ${[...expected].sort().join(', ')}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('compares run durations with the tier cadences of the code', () => {
    const rule = RECORDING.find((r) => r.record === 'instance:pgotel_tier_interval_seconds:min');
    const terms = (rule?.expr ?? '').split(/\bor\b/).map((t) => t.trim());
    expect(terms).toEqual(
      TIERS.map(
        (tier) =>
          `${TIER_INTERVAL_SECONDS[tier]} * group without (query, tier) (max_over_time(pgotel_query_duration_seconds{tier="${tier}"}[1h]))`,
      ),
    );
  });
});
