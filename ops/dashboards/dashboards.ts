import { fileURLToPath } from 'node:url';
import type { Dashboard, GridPos } from '@grafana/grafana-foundation-sdk/dashboard';
import { collectorDashboard } from './collector.ts';
import { databaseDashboard } from './database.ts';
import { overviewDashboard } from './overview.ts';
import { replicationDashboard } from './replication.ts';
import { statementsDashboard } from './statements.ts';
import { vacuumDashboard } from './vacuum.ts';

/** Every shipped dashboard: `name` is its file, `ops/dashboards/json/<name>.json`. */
export const DASHBOARDS: readonly { readonly name: string; readonly build: () => Dashboard }[] = [
  { name: 'overview', build: overviewDashboard },
  { name: 'database', build: databaseDashboard },
  { name: 'replication', build: replicationDashboard },
  { name: 'vacuum', build: vacuumDashboard },
  { name: 'statements', build: statementsDashboard },
  { name: 'collector', build: collectorDashboard },
];

/** Where the generated JSON is committed. */
export const JSON_DIR = fileURLToPath(new URL('./json/', import.meta.url));

/** The file content of a dashboard: what Grafana's "Import dashboard" takes. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** One query of a panel, as the dashboard JSON holds it. */
export interface PanelQuery {
  readonly refId: string;
  readonly expr: string;
  readonly legend: string;
  /** Stat panels ask for the value at the end of the range, time series for the whole range. */
  readonly instant: boolean;
}

/** A panel read back from a built dashboard: what the tests check and the renderer draws. */
export interface PanelView {
  readonly title: string;
  readonly type: string;
  readonly gridPos: GridPos;
  readonly unit: string;
  readonly queries: readonly PanelQuery[];
  /** Value → text and color of a stat panel's value mappings. */
  readonly texts: Readonly<Record<string, { readonly text: string; readonly color: string }>>;
  /** Threshold steps, ascending; the first has no value (the base color). */
  readonly steps: readonly { readonly value: number | null; readonly color: string }[];
}

interface TargetJson {
  readonly refId?: string;
  readonly expr?: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
}

/** The panels of a built dashboard in layout order, rows included (type `row`, no queries). */
export function panelsOf(dashboard: Dashboard): PanelView[] {
  return (dashboard.panels ?? []).map((panel) => {
    const targets = ('targets' in panel ? (panel.targets ?? []) : []) as TargetJson[];
    const fieldDefaults = 'fieldConfig' in panel ? panel.fieldConfig?.defaults : undefined;
    const texts: Record<string, { text: string; color: string }> = {};
    for (const mapping of fieldDefaults?.mappings ?? []) {
      if (mapping.type !== 'value') continue;
      for (const [value, result] of Object.entries(mapping.options)) {
        texts[value] = { text: result.text ?? value, color: result.color ?? '' };
      }
    }
    return {
      title: panel.title ?? '',
      type: panel.type,
      gridPos: panel.gridPos ?? { x: 0, y: 0, w: 24, h: 1 },
      unit: fieldDefaults?.unit ?? '',
      queries: targets.map((target) => ({
        refId: target.refId ?? '',
        expr: target.expr ?? '',
        legend: target.legendFormat ?? '',
        instant: target.instant === true,
      })),
      texts,
      steps: fieldDefaults?.thresholds?.steps ?? [],
    };
  });
}
