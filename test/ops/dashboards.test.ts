import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPrometheusNames, metricNamesInPromQL } from '../../ops/catalog-names.ts';
import {
  DASHBOARDS,
  dashboardJson,
  JSON_DIR,
  type PanelView,
  panelsOf,
} from '../../ops/dashboards/dashboards.ts';
import { expandVariables, regexOf, UnknownVariableError } from '../../ops/dashboards/expand.ts';
import { CLUSTER, type Live, PRIMARY, REPLICA, startLive } from '../../ops/dashboards/live.ts';
import { labelValuesVariables } from '../../ops/dashboards/variables.ts';
import { DELETED_ORDERS, openSessions, type Sessions, SHOP } from '../../ops/dashboards/workload.ts';
import { PG_MAJORS } from '../helpers/postgres.ts';
import type { PromSample } from '../helpers/prometheus.ts';

/**
 * The Grafana dashboards: the committed JSON is what the code builds, every metric they query is one
 * pgotel emits, and every panel query runs against a real Prometheus holding what the real collector
 * wrote from a real primary and replica with a workload — no error, and data wherever the workload
 * guarantees it.
 */

/**
 * Panels allowed to return nothing against the test workload, and why. Everything else must have data.
 * `empty` says on which PostgreSQL majors (all when absent).
 */
const MAY_BE_EMPTY: readonly { panel: string; reason: string; empty?: (major: number) => boolean }[] = [
  {
    panel: 'vacuum / Vacuum progress',
    reason: 'pg_stat_progress_vacuum has rows only while a vacuum runs; the workload cannot hold one open.',
  },
  {
    panel: 'collector / Series dropped by the cardinality window',
    reason: 'reported only when a configured cardinality window drops series; the test sets none.',
  },
  {
    panel: 'database / Session time by state',
    reason: 'pg_stat_database session columns exist from PostgreSQL 14.',
    empty: (major) => major < 14,
  },
  {
    panel: 'statements / Evictions in range',
    reason: 'pg_stat_statements_info exists from PostgreSQL 14.',
    empty: (major) => major < 14,
  },
  {
    panel: 'overview / I/O operations (pg_stat_io)',
    reason: 'pg_stat_io exists from PostgreSQL 16.',
    empty: (major) => major < 16,
  },
  {
    panel: 'replication / Inactive slots: time unused',
    reason: 'pg_replication_slots.inactive_since exists from PostgreSQL 17.',
    empty: (major) => major < 17,
  },
];

const BUILT = DASHBOARDS.map(({ name, build }) => ({ name, dashboard: build() }));
const PANELS: { name: string; panel: PanelView }[] = BUILT.flatMap(({ name, dashboard }) =>
  panelsOf(dashboard)
    .filter((panel) => panel.type !== 'row')
    .map((panel) => ({ name, panel })),
);

function keyOf(name: string, panel: PanelView): string {
  return `${name} / ${panel.title}`;
}

/** Grafana's built-ins, as Grafana would fill them for a short range. */
const BUILT_INS = { __rate_interval: '1m', __range: '10m', __interval: '15s' };

describe('dashboards as code', () => {
  it('commits exactly the JSON the code builds', async () => {
    for (const { name, dashboard } of BUILT) {
      // Prepare
      const committed = JSON.parse(await readFile(join(JSON_DIR, `${name}.json`), 'utf8')) as unknown;

      // Assess
      expect(committed, `${name}.json: run node --import tsx ops/dashboards/build.ts`).toEqual(
        JSON.parse(dashboardJson(dashboard)),
      );
    }
  });

  it('has the six dashboards with unique uids, and every panel titled, described and on the datasource variable', () => {
    // Assess
    expect(BUILT.map(({ dashboard }) => dashboard.uid)).toEqual([
      'pgotel-overview',
      'pgotel-database',
      'pgotel-replication',
      'pgotel-vacuum',
      'pgotel-statements',
      'pgotel-collector',
    ]);
    for (const { dashboard } of BUILT) {
      for (const panel of dashboard.panels ?? []) {
        if (panel.type === 'row') continue;
        expect(panel.title, JSON.stringify(panel)).toMatch(/\S/);
        expect('description' in panel && panel.description, panel.title).toMatch(/\S/);
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax.
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
    expect(PANELS).toHaveLength(74);
  });

  it('lays every dashboard out on the 24-column grid without overlaps', () => {
    for (const { name, dashboard } of BUILT) {
      const cells = new Set<string>();
      for (const panel of panelsOf(dashboard)) {
        const { x, y, w, h } = panel.gridPos;
        expect(x + w, `${name} / ${panel.title}`).toBeLessThanOrEqual(24);
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            expect(cells.has(`${i},${j}`), `${name} / ${panel.title} overlaps at ${i},${j}`).toBe(false);
            cells.add(`${i},${j}`);
          }
        }
      }
    }
  });

  it('queries only metrics of the catalog, in panels and variables', () => {
    // Prepare
    const catalog = catalogPrometheusNames();
    const used = new Set<string>();
    for (const { panel } of PANELS) {
      for (const query of panel.queries) for (const name of metricNamesInPromQL(query.expr)) used.add(name);
    }
    for (const variable of labelValuesVariables(true)) used.add(variable.metric);

    // Assess
    expect([...used].filter((name) => !catalog.has(name))).toEqual([]);
    expect(used.size).toBe(69);
  });

  it('uses only the variables each dashboard defines', () => {
    for (const { name, dashboard } of BUILT) {
      // Prepare: every defined variable gets a value; an undefined one makes expandVariables throw.
      const values: Record<string, string> = { ...BUILT_INS };
      for (const variable of dashboard.templating.list ?? []) values[variable.name] = 'x';

      // Assess
      for (const panel of panelsOf(dashboard)) {
        for (const query of panel.queries) {
          expect(() => expandVariables(query.expr, values), `${name} / ${panel.title}`).not.toThrow();
        }
      }
    }
  });

  it('fills Grafana variables as Grafana does, and names a variable it has no value for', () => {
    // Prepare
    const values = { target: regexOf(['a.b', 'c']), __rate_interval: '1m' };

    // Act
    const expanded = expandVariables(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax.
      'rate(x{instance=~"$target"}[$__rate_interval]) + y{z="${target}"}',
      values,
    );

    // Assess
    expect(expanded).toBe('rate(x{instance=~"(a\\.b|c)"}[1m]) + y{z="(a\\.b|c)"}');
    expect(regexOf(['only'])).toBe('only');
    expect(() => expandVariables('up{d="$database"}', values)).toThrow(UnknownVariableError);
    expect(() => expandVariables('up{d="$database"}', values)).toThrow(
      'no value for $database in up{d="$database"}',
    );
  });

  it('lists as may-be-empty only panels that exist', () => {
    const keys = new Set(PANELS.map(({ name, panel }) => keyOf(name, panel)));
    expect(MAY_BE_EMPTY.map((entry) => entry.panel).filter((key) => !keys.has(key))).toEqual([]);
  });
});

describe.each(PG_MAJORS)('dashboard queries on real data from PostgreSQL %i', (major) => {
  let live: Live;
  let sessions: Sessions;
  let firstSec: number;
  let lastSec: number;
  const values = {
    ...BUILT_INS,
    cluster: CLUSTER,
    target: regexOf([PRIMARY, REPLICA]),
    database: SHOP,
  };

  beforeAll(async () => {
    live = await startLive({ major });
    sessions = await openSessions(live.primary, 1_500);
    // Three runs: enough samples for every rate() and increase() window.
    const times: number[] = [];
    for (let run = 0; run < 3; run++) times.push(await live.collect());
    firstSec = (times[0] ?? 0) / 1000;
    lastSec = (times[times.length - 1] ?? 0) / 1000 + 1;
  });

  afterAll(async () => {
    await sessions?.close();
    await live?.close();
  });

  async function instant(expr: string): Promise<PromSample[]> {
    return live.prom.query(expandVariables(expr, values), lastSec);
  }

  /** `{instance: value}` of a panel's only query. */
  async function byInstance(dashboard: string, title: string): Promise<Record<string, number>> {
    const found = PANELS.find((p) => p.name === dashboard && p.panel.title === title);
    const expr = found?.panel.queries[0]?.expr;
    if (expr === undefined) throw new Error(`no panel ${dashboard} / ${title}`);
    const samples = await instant(expr);
    return Object.fromEntries(samples.map((s) => [s.metric.instance ?? '', s.value]));
  }

  it('fills the variables with the cluster, both targets and both databases', async () => {
    for (const variable of labelValuesVariables(true)) {
      // Act: what Grafana asks for label_values(metric{matchers}, label).
      const url = new URL(`${live.prom.url}/api/v1/label/${variable.labelName}/values`);
      url.searchParams.set('match[]', expandVariables(`${variable.metric}{${variable.matchers}}`, values));
      url.searchParams.set('start', String(firstSec - 60));
      url.searchParams.set('end', String(lastSec));
      const body = (await (await fetch(url)).json()) as { status: string; data: string[] };

      // Assess
      expect(body.status).toBe('success');
      expect(body.data, variable.name).toEqual(
        { cluster: [CLUSTER], target: [PRIMARY, REPLICA], database: ['postgres', SHOP] }[variable.name],
      );
    }
  });

  it('runs every panel query without error, with data in every panel the workload guarantees', async () => {
    // Act
    const empty: string[] = [];
    let queries = 0;
    for (const { name, panel } of PANELS) {
      for (const query of panel.queries) {
        const expr = expandVariables(query.expr, values);
        const series = query.instant
          ? await live.prom.query(expr, lastSec)
          : await live.prom.queryRange(expr, firstSec, lastSec, 1);
        queries += 1;
        if (series.length === 0) empty.push(`${keyOf(name, panel)} [${query.refId}] ${expr}`);
      }
    }

    // Assess: empty panels are exactly those allowed to be on this major.
    const allowed = MAY_BE_EMPTY.filter((entry) => entry.empty?.(major) ?? true).map((entry) => entry.panel);
    expect(empty.filter((line) => !allowed.some((key) => line.startsWith(`${key} [`)))).toEqual([]);
    expect(queries).toBe(83);
  });

  it('shows the exact state of the workload', async () => {
    // Assess: one session blocked, one replica streaming, both targets up.
    expect(await byInstance('overview', 'Target up')).toEqual({ [PRIMARY]: 1, [REPLICA]: 1 });
    expect(await byInstance('overview', 'Blocked sessions')).toEqual({ [PRIMARY]: 1, [REPLICA]: 0 });
    expect(await byInstance('overview', 'Replicas')).toEqual({ [PRIMARY]: 1, [REPLICA]: 0 });
    expect(await byInstance('replication', 'WAL receiver')).toEqual({ [REPLICA]: 1 });
    expect(await byInstance('collector', 'Failed queries (last run)')).toEqual({
      [PRIMARY]: 0,
      [REPLICA]: 0,
    });

    // Assess: the deleted orders are the only table over the 1,000 dead tuple threshold.
    const dead = PANELS.find((p) => p.name === 'vacuum' && p.panel.title === 'Dead tuples');
    const samples = await instant(dead?.panel.queries[0]?.expr ?? '');
    expect(
      samples.map((s) => ({
        instance: s.metric.instance,
        table: `${s.metric.database_name}.${s.metric.schema_name}.${s.metric.table_name}`,
        value: s.value,
      })),
    ).toEqual([{ instance: PRIMARY, table: `${SHOP}.public.orders`, value: DELETED_ORDERS }]);
  });
});
