import type { PanelView } from './dashboards.ts';

/**
 * Draws a dashboard as Grafana lays it out — its grid, row titles, time series with legends, stat values
 * — into one SVG, from query results. Pure: the renderer runs the queries and rasterizes the SVG.
 */

/** One series of a panel, its legend already filled in; `points` are `[epoch seconds, value]`. */
export interface DrawnSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A panel and what its queries returned. */
export interface DrawnPanel {
  readonly panel: PanelView;
  readonly series: readonly DrawnSeries[];
}

export interface DrawnDashboard {
  readonly title: string;
  /** The variable values and the time range, printed under the title. */
  readonly subtitle: string;
  readonly startSec: number;
  readonly endSec: number;
  readonly panels: readonly DrawnPanel[];
}

const WIDTH = 1200;
const COLUMN = WIDTH / 24;
/** Grafana's grid row height in pixels. */
const ROW = 30;
const HEADER = 56;
const GAP = 4;
const FONT = 'DejaVu Sans';

const THEME = {
  page: '#111217',
  panel: '#181b1f',
  border: '#2c3235',
  text: '#ccccdc',
  dim: '#8e8e9e',
  grid: '#2c3235',
};
const NAMED_COLORS: Readonly<Record<string, string>> = {
  green: '#73bf69',
  yellow: '#fade2a',
  orange: '#ff9830',
  red: '#f2495c',
};
/** Grafana's classic palette, in its order. */
const PALETTE = [
  '#7eb26d',
  '#eab839',
  '#6ed0e0',
  '#ef843c',
  '#e24d42',
  '#1f78c1',
  '#ba43a9',
  '#705da0',
  '#508642',
  '#cca300',
];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function text(x: number, y: number, content: string, attrs: string): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(content)}</text>`;
}

/** Cuts `content` to about `widthPx` at `sizePx` font size (DejaVu Sans averages ~0.6 em per character). */
function truncate(content: string, widthPx: number, sizePx: number): string {
  const max = Math.max(1, Math.floor(widthPx / (sizePx * 0.6)));
  return content.length <= max ? content : `${content.slice(0, max - 1)}…`;
}

function scaled(value: number, steps: readonly [number, string][], digits = 1): string {
  let index = 0;
  let v = Math.abs(value);
  while (index < steps.length - 1 && v >= (steps[index + 1]?.[0] ?? Infinity)) index += 1;
  const [factor, suffix] = steps[index] ?? [1, ''];
  v = value / factor;
  // Below 1, two significant digits: a 0.0004 % wraparound ratio must not print as 0 %.
  const rounded =
    Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 1 || v === 0
        ? v.toFixed(digits).replace(/\.0+$/, '')
        : String(Number(v.toPrecision(2)));
  return `${rounded}${suffix}`;
}

const BYTES: [number, string][] = [
  [1, ' B'],
  [1024, ' KiB'],
  [1024 ** 2, ' MiB'],
  [1024 ** 3, ' GiB'],
  [1024 ** 4, ' TiB'],
];
const COUNTS: [number, string][] = [
  [1, ''],
  [1e3, 'K'],
  [1e6, 'M'],
  [1e9, 'B'],
];
const SECONDS: [number, string][] = [
  [1e-6, ' µs'],
  [1e-3, ' ms'],
  [1, ' s'],
  [60, ' min'],
  [3600, ' h'],
  [86400, ' day'],
];

/** A value in a Grafana unit, the way Grafana prints it (roughly). */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'bytes':
      return scaled(value, BYTES);
    case 'Bps':
      return `${scaled(value, BYTES)}/s`;
    case 's':
      return value === 0 ? '0 s' : scaled(value, SECONDS);
    case 'percentunit':
      return `${scaled(value * 100, [[1, '']])}%`;
    case 'percent':
      return `${scaled(value, [[1, '']])}%`;
    case 'ops':
      return `${scaled(value, COUNTS)} ops/s`;
    default:
      return scaled(value, COUNTS, 2);
  }
}

function colorOf(name: string): string {
  return NAMED_COLORS[name] ?? name;
}

/** The color and text Grafana shows for a stat value: a value mapping, else the threshold step it reaches. */
function statDisplay(panel: PanelView, value: number): { text: string; color: string } {
  const mapped = panel.texts[String(value)];
  if (mapped !== undefined) return { text: mapped.text, color: colorOf(mapped.color) };
  let color = 'green';
  for (const step of panel.steps) if (step.value === null || value >= step.value) color = step.color;
  return { text: formatValue(value, panel.unit), color: colorOf(color) };
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function boxOf(panel: PanelView): Box {
  const { x, y, w, h } = panel.gridPos;
  return { x: x * COLUMN + GAP, y: HEADER + y * ROW + GAP, w: w * COLUMN - 2 * GAP, h: h * ROW - 2 * GAP };
}

/**
 * One line per series, name left and value right; in a panel too narrow for both on one line, the name
 * above its value, as Grafana stacks them.
 */
function statPanel(drawn: DrawnPanel, box: Box): string {
  const rows = drawn.series.filter((s) => s.points.length > 0);
  if (rows.length === 0) return noData(box);
  const top = box.y + 30;
  const each = (box.h - 34) / rows.length;
  return rows
    .map((series, i) => {
      const value = series.points[series.points.length - 1]?.[1] ?? Number.NaN;
      const shown = statDisplay(drawn.panel, value);
      const middle = top + each * i + each / 2;
      const valueStyle = (size: number, anchor: string) =>
        `fill="${shown.color}" font-size="${size.toFixed(0)}" font-weight="bold" text-anchor="${anchor}"`;
      const nameWidth = series.name.length * 11 * 0.6;
      const sideBySide = Math.min(28, each * 0.55, (box.w - nameWidth - 30) / (0.65 * shown.text.length));
      if (sideBySide >= 14) {
        const baseline = middle + sideBySide * 0.35;
        return [
          text(box.x + 10, baseline, series.name, `fill="${THEME.text}" font-size="11"`),
          text(box.x + box.w - 10, baseline, shown.text, valueStyle(sideBySide, 'end')),
        ].join('');
      }
      const stacked = Math.max(10, Math.min(28, each * 0.4, (box.w - 20) / (0.65 * shown.text.length)));
      return [
        text(
          box.x + box.w / 2,
          middle - stacked * 0.45,
          truncate(series.name, box.w - 20, 11),
          `fill="${THEME.text}" font-size="11" text-anchor="middle"`,
        ),
        text(box.x + box.w / 2, middle + stacked * 0.85, shown.text, valueStyle(stacked, 'middle')),
      ].join('');
    })
    .join('');
}

function noData(box: Box): string {
  return text(
    box.x + box.w / 2,
    box.y + box.h / 2 + 12,
    'No data',
    `fill="${THEME.dim}" font-size="14" text-anchor="middle"`,
  );
}

function niceStep(span: number): number {
  const raw = span / 3;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

function clock(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(11, 19);
}

function timeSeriesPanel(drawn: DrawnPanel, box: Box, startSec: number, endSec: number): string {
  // Largest last value first, as the dashboards' legends sort.
  const series = drawn.series
    .filter((s) => s.points.some(([, v]) => Number.isFinite(v)))
    .map((s) => ({ ...s, last: [...s.points].reverse().find(([, v]) => Number.isFinite(v))?.[1] ?? 0 }))
    .sort((a, b) => b.last - a.last);
  if (series.length === 0) return noData(box);
  const legendLines = Math.min(series.length, Math.max(1, Math.floor((box.h - 130) / 14)));
  const plot = { x: box.x + 62, y: box.y + 30, w: box.w - 72, h: box.h - 52 - legendLines * 14 };
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let min = Math.min(0, ...values);
  let max = Math.max(...values);
  if (max === min) max = min + 1;
  const step = niceStep(max - min);
  min = Math.floor(min / step) * step;
  max = Math.ceil(max / step) * step;
  const px = (t: number): number => plot.x + ((t - startSec) / (endSec - startSec)) * plot.w;
  const py = (v: number): number => plot.y + plot.h - ((v - min) / (max - min)) * plot.h;
  const parts: string[] = [];
  for (let v = min; v <= max + step / 2; v += step) {
    parts.push(
      `<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="${THEME.grid}" stroke-width="1"/>`,
    );
    parts.push(
      text(
        plot.x - 6,
        py(v) + 4,
        formatValue(v, drawn.panel.unit),
        `fill="${THEME.dim}" font-size="10" text-anchor="end"`,
      ),
    );
  }
  const ticks = plot.w < 300 ? 1 : 3;
  for (let i = 0; i <= ticks; i++) {
    const t = startSec + ((endSec - startSec) * i) / ticks;
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    parts.push(
      text(
        px(t),
        plot.y + plot.h + 13,
        clock(t),
        `fill="${THEME.dim}" font-size="10" text-anchor="${anchor}"`,
      ),
    );
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] ?? THEME.text;
    // A gap in the data (NaN, or no sample at a step) starts a new line segment.
    let path = '';
    let previous = Number.NaN;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) {
        previous = Number.NaN;
        continue;
      }
      path += `${Number.isNaN(previous) || t - previous > 30 ? 'M' : 'L'}${px(t).toFixed(1)},${py(v).toFixed(1)}`;
      previous = t;
    }
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    if (s.points.filter(([, v]) => Number.isFinite(v)).length === 1) {
      const [t, v] = s.points.find(([, value]) => Number.isFinite(value)) ?? [0, 0];
      parts.push(`<circle cx="${px(t).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
  });
  const legendTop = plot.y + plot.h + 30;
  series.slice(0, legendLines).forEach((s, i) => {
    const y = legendTop + i * 14;
    const color = PALETTE[i % PALETTE.length] ?? THEME.text;
    const more =
      i === legendLines - 1 && series.length > legendLines ? ` (+${series.length - legendLines} more)` : '';
    parts.push(`<rect x="${box.x + 10}" y="${y - 8}" width="10" height="4" fill="${color}"/>`);
    parts.push(
      text(
        box.x + 26,
        y - 2,
        truncate(`${s.name}${more}`, box.w - 120, 10),
        `fill="${THEME.text}" font-size="10"`,
      ),
    );
    parts.push(
      text(
        box.x + box.w - 10,
        y - 2,
        formatValue(s.last, drawn.panel.unit),
        `fill="${THEME.text}" font-size="10" text-anchor="end"`,
      ),
    );
  });
  return parts.join('');
}

/** The whole dashboard as an SVG document. */
export function dashboardSvg(dashboard: DrawnDashboard): string {
  const bottom = Math.max(...dashboard.panels.map(({ panel }) => panel.gridPos.y + panel.gridPos.h));
  const height = HEADER + bottom * ROW + GAP;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="${THEME.page}"/>`,
    text(GAP + 4, 24, dashboard.title, `fill="${THEME.text}" font-size="18" font-weight="bold"`),
    text(GAP + 4, 44, dashboard.subtitle, `fill="${THEME.dim}" font-size="11"`),
  ];
  for (const drawn of dashboard.panels) {
    const box = boxOf(drawn.panel);
    if (drawn.panel.type === 'row') {
      parts.push(
        text(
          box.x + 2,
          box.y + 17,
          drawn.panel.title,
          `fill="${THEME.text}" font-size="14" font-weight="bold"`,
        ),
      );
      continue;
    }
    parts.push(
      `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="3" fill="${THEME.panel}" stroke="${THEME.border}"/>`,
    );
    parts.push(
      text(
        box.x + 10,
        box.y + 18,
        truncate(drawn.panel.title, box.w - 20, 12),
        `fill="${THEME.text}" font-size="12" font-weight="bold"`,
      ),
    );
    parts.push(
      drawn.panel.type === 'stat'
        ? statPanel(drawn, box)
        : timeSeriesPanel(drawn, box, dashboard.startSec, dashboard.endSec),
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
