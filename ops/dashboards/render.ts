import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { delay } from '../../test/helpers/processes.ts';
import { DASHBOARDS, type PanelView, panelsOf } from './dashboards.ts';
import { type DrawnPanel, type DrawnSeries, dashboardSvg } from './draw.ts';
import { expandVariables } from './expand.ts';
import { CLUSTER, type Live, startLive } from './live.ts';
import { openSessions, type Sessions, SHOP, shopTraffic } from './workload.ts';

/**
 * Renders every dashboard from real data into `docs/images/dashboard-<name>.png`: starts the components
 * of the dashboard test (PostgreSQL primary and replica, Prometheus, the real collector), runs a changing
 * shop workload for about three minutes with a collection of every tier every 10 s (a blocked session
 * and a long transaction in the middle, a vacuum of the orders table), then runs each panel's queries
 * as Grafana would and draws the result.
 * Run: `node --import tsx ops/dashboards/render.ts`.
 */

const ROUNDS = 18;
const ROUND_MS = 10_000;
const STEP_SEC = 5;
const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/** Grafana's `{{label}}` legend filled from a series' labels. */
function legendOf(format: string, labels: Readonly<Record<string, string>>): string {
  if (format === '') return JSON.stringify(labels);
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
}

/**
 * The pictures' data has a sample of every metric every 10 s, and three minutes of it: the `rate()` windows
 * sized for the 60 s and 300 s tiers (`[4m]`, `[20m]`, …) would mostly average over time before the first
 * sample, so they are drawn with one minute, like the 15 s tier's `$__rate_interval`.
 */
function pictureWindows(expr: string): string {
  return expr.replace(/\[\d+m\]/g, '[1m]');
}

async function produceData(
  live: Live,
): Promise<{ sessions: Sessions | undefined; startSec: number; endSec: number }> {
  let sessions: Sessions | undefined;
  const times: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const started = Date.now();
      if (round === 5) sessions = await openSessions(live.primary, 0);
      if (round === 9) await live.primary.query('VACUUM orders', [], SHOP);
      if (round === 12) await live.primary.query('CHECKPOINT');
      await shopTraffic(live.primary, round);
      times.push(await live.collect());
      console.log(`collection ${round + 1}/${ROUNDS}`);
      await delay(Math.max(0, started + ROUND_MS - Date.now()));
    }
  } catch (error) {
    await sessions?.close();
    throw error;
  }
  // The blocked session and the open transaction stay until the pictures are drawn.
  return { sessions, startSec: (times[0] ?? 0) / 1000, endSec: (times[times.length - 1] ?? 0) / 1000 + 1 };
}

async function panelData(
  live: Live,
  panel: PanelView,
  values: Readonly<Record<string, string>>,
  range: { startSec: number; endSec: number },
): Promise<DrawnPanel> {
  const series: DrawnSeries[] = [];
  for (const query of panel.queries) {
    const expr = pictureWindows(expandVariables(query.expr, values));
    if (query.instant) {
      for (const s of await live.prom.query(expr, range.endSec)) {
        series.push({ name: legendOf(query.legend, s.metric), points: [[s.timestampSec, s.value]] });
      }
    } else {
      for (const s of await live.prom.queryRange(expr, range.startSec, range.endSec, STEP_SEC)) {
        series.push({ name: legendOf(query.legend, s.metric), points: s.values });
      }
    }
  }
  return { panel, series };
}

const live = await startLive();
let sessions: Sessions | undefined;
try {
  const { sessions: open, ...range } = await produceData(live);
  sessions = open;
  const minutes = Math.round((range.endSec - range.startSec) / 60);
  const values = {
    cluster: CLUSTER,
    target: '.*',
    database: SHOP,
    __rate_interval: '1m',
    __interval: `${STEP_SEC}s`,
    __range: `${Math.round(range.endSec - range.startSec)}s`,
  };
  for (const { name, build } of DASHBOARDS) {
    const dashboard = build();
    const panels: DrawnPanel[] = [];
    for (const panel of panelsOf(dashboard)) panels.push(await panelData(live, panel, values, range));
    const perDatabase = (dashboard.templating.list ?? []).some((v) => v.name === 'database');
    const svg = dashboardSvg({
      title: dashboard.title ?? name,
      subtitle: `cluster = ${CLUSTER}   target = All${perDatabase ? `   database = ${SHOP}` : ''}   last ${minutes} minutes (UTC), pgotel collecting every tier every ${ROUND_MS / 1000} s from an embedded PostgreSQL primary and replica`,
      ...range,
      panels,
    });
    const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } })
      .render()
      .asPng();
    const file = `${IMAGES}dashboard-${name}.png`;
    await writeFile(file, png);
    console.log(`wrote ${file} (${Math.round(png.length / 1024)} KiB)`);
  }
} finally {
  await sessions?.close();
  await live.close();
}
