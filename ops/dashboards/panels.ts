import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  type Panel,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE, dashboardVariables } from './variables.ts';

/** One PromQL query of a panel and its legend (`{{label}}` placeholders). */
export interface Query {
  readonly expr: string;
  readonly legend: string;
}

/** What every panel has. Width is in Grafana's 24-column grid, height in grid rows (30 px). */
interface PanelOptions {
  readonly title: string;
  /** Shown in the panel's (i) tooltip: what the numbers mean and where they come from. */
  readonly description: string;
  /** A Grafana unit id: `bytes`, `Bps`, `s`, `percentunit`, `ops`, `short`, `none`. */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** @default 12 for time series, 4 for stats */
  readonly width?: number;
  /** @default 8 for time series, 4 for stats */
  readonly height?: number;
}

/** A value → color step: at or above `value` the value is shown in `color`. */
export interface Step {
  readonly value: number;
  readonly color: 'green' | 'yellow' | 'orange' | 'red';
}

const REF_IDS = 'ABCDEFGHIJ';

function targets(queries: readonly Query[], instant: boolean): DataqueryBuilder[] {
  if (queries.length > REF_IDS.length) throw new Error(`a panel takes at most ${REF_IDS.length} queries`);
  return queries.map((query, i) => {
    const target = new DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(REF_IDS[i] ?? 'A')
      .expr(query.expr)
      .legendFormat(query.legend);
    return instant ? target.instant() : target.range();
  });
}

function thresholds(steps: readonly Step[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: 'green' }, ...steps.map((s) => ({ value: s.value, color: s.color }))]);
}

/**
 * A line graph over the dashboard's time range, legend as a table with the last and maximum values, largest
 * last value first.
 */
export function timeSeries(
  options: PanelOptions & { readonly stack?: boolean; readonly steps?: readonly Step[] },
): cog.Builder<Panel> {
  const panel = new TimeseriesPanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 12)
    .height(options.height ?? 8)
    .targets(targets(options.queries, false))
    .fillOpacity(options.stack === true ? 40 : 10)
    .lineWidth(1)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max'])
        .sortBy('Last *')
        .sortDesc(true),
    );
  if (options.stack === true) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (options.steps !== undefined) panel.thresholds(thresholds(options.steps));
  return panel;
}

/** One big number per series: the last value at the end of the time range (an instant query). */
export function stat(
  options: PanelOptions & {
    readonly steps?: readonly Step[];
    /** Display text per exact value, e.g. `{ 0: 'DOWN', 1: 'UP' }` (colored red, green). */
    readonly texts?: Readonly<Record<number, { readonly text: string; readonly color: string }>>;
  },
): cog.Builder<Panel> {
  const panel = new StatPanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 4)
    .height(options.height ?? 4)
    .targets(targets(options.queries, true))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(BigValueColorMode.Value)
    .graphMode(BigValueGraphMode.None)
    .textMode(BigValueTextMode.ValueAndName)
    .thresholds(thresholds(options.steps ?? []));
  if (options.texts !== undefined) {
    const mapping: ValueMapping = {
      type: MappingType.ValueToText,
      options: Object.fromEntries(Object.entries(options.texts).map(([value, result]) => [value, result])),
    };
    panel.mappings([mapping]);
  }
  return panel;
}

/** A titled section of panels. */
export interface Section {
  readonly title: string;
  readonly panels: readonly cog.Builder<Panel>[];
}

/** One dashboard, as the modules of this folder describe it. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Whether panels filter by `$database` (adds the variable). */
  readonly perDatabase: boolean;
  readonly sections: readonly Section[];
}

/**
 * The Grafana dashboard model (schema of the SDK's Grafana version): the shared variables, a 3-hour range
 * refreshed every minute, sections as rows, panels laid out left to right by the SDK and numbered in order.
 */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['pgotel', 'postgresql'])
    .editable()
    .timezone('browser')
    .time({ from: 'now-3h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables(dashboardVariables(spec.perDatabase));
  for (const section of spec.sections) {
    builder.withRow(new RowBuilder(section.title));
    for (const panel of section.panels) builder.withPanel(panel);
  }
  const dashboard = builder.build();
  dashboard.panels?.forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}
