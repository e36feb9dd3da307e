import type { CollectResult } from '../shared/collect/collect.ts';
import type { MetricFamily } from '../shared/model/metrics.ts';
import { EXCLUDED_METRICS } from '../shared/queries/historical.ts';
import { printable } from './printable.ts';

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(1)} ${units[i]}`;
}

function formatValue(family: Pick<MetricFamily, 'unit'>, value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (family.unit === 'By') return humanBytes(value);
  if (family.unit === 's') return value < 1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(2)} s`;
  if (family.unit === 'ms') return `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

function labelsOf(attributes: Readonly<Record<string, string>>): string {
  return Object.entries(attributes)
    .map(([k, v]) => {
      const value = printable(v);
      return `${printable(k)}=${value.length > 40 ? `${value.slice(0, 37)}...` : value}`;
    })
    .join(' ');
}

/** `query (database): message`. */
function queryOutcome(q: CollectResult['queries'][number]): string {
  const database = q.database === undefined ? '' : ` (${printable(q.database)})`;
  return `${printable(q.query)}${database}: ${printable(q.message ?? '')}`;
}

/** Words of the `reason` attribute of `pgotel.tables.excluded` and `pgotel.indexes.excluded`, for the summary line. */
const EXCLUDED_REASONS: Readonly<Record<string, string>> = {
  cap: 'over the max_tables/max_indexes cap',
  filter: 'outside the schema filters or under min_relation_size_bytes',
  locked: 'ACCESS EXCLUSIVE locked',
};

function counted(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * One line per database whose tables or indexes were not all reported (`pgotel.*.excluded` above 0):
 * `relations not reported in bench: 1,900 tables, 5,950 indexes over the max_tables/max_indexes cap`.
 */
function excludedLines(result: CollectResult): string[] {
  const counts = new Map<string, Map<string, { table: number; index: number }>>();
  for (const { batch } of result.batches) {
    for (const family of batch.families) {
      const kind =
        family.name === EXCLUDED_METRICS.table
          ? 'table'
          : family.name === EXCLUDED_METRICS.index
            ? 'index'
            : undefined;
      if (kind === undefined) continue;
      for (const { attributes, value } of family.points) {
        const { database_name: database = '', reason = '' } = attributes;
        if (value <= 0) continue;
        const byReason = counts.get(database) ?? new Map<string, { table: number; index: number }>();
        const entry = byReason.get(reason) ?? { table: 0, index: 0 };
        entry[kind] += value;
        byReason.set(reason, entry);
        counts.set(database, byReason);
      }
    }
  }
  const lines: string[] = [];
  for (const [database, byReason] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const parts = [...byReason].map(([reason, { table, index }]) => {
      const what = [
        ...(table > 0 ? [counted(table, 'table', 'tables')] : []),
        ...(index > 0 ? [counted(index, 'index', 'indexes')] : []),
      ].join(', ');
      return `${what} ${EXCLUDED_REASONS[reason] ?? printable(reason)}`;
    });
    lines.push(`  relations not reported in ${printable(database)}: ${parts.join('; ')}`);
  }
  return lines;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/**
 * A readable, aligned summary of one run: header, metrics per tier, then query outcomes. Every name and
 * message is {@link printable}: they come from the server and the config, and this goes to a terminal.
 */
export function formatTable(result: CollectResult, options: { maxPointsPerMetric?: number } = {}): string {
  const maxPoints = options.maxPointsPerMetric ?? 10;
  const lines: string[] = [];
  const server = result.server;
  const head =
    server === undefined
      ? 'unreachable'
      : `PostgreSQL ${printable(server.version)} ${printable(server.role)}`;
  lines.push(
    `target ${printable(result.target)}: ${head}, up=${result.up}, ${result.series} series in ${result.durationMs.toFixed(0)} ms`,
  );
  if (result.error !== undefined) lines.push(`error: ${printable(result.error)}`);
  for (const { tier, batch } of result.batches) {
    lines.push('', `== ${tier} ==`);
    const rows: [string, string, string][] = [];
    for (const family of batch.families) {
      const name = printable(family.name);
      const points = family.points.slice(0, maxPoints);
      for (const point of points)
        rows.push([name, labelsOf(point.attributes), formatValue(family, point.value)]);
      if (family.points.length > maxPoints)
        rows.push([name, `... ${family.points.length - maxPoints} more series`, '']);
    }
    const w0 = Math.min(52, Math.max(6, ...rows.map((r) => r[0].length)));
    const w1 = Math.min(90, Math.max(6, ...rows.map((r) => r[1].length)));
    lines.push(`${pad('METRIC', w0)}  ${pad('LABELS', w1)}  VALUE`);
    for (const [name, labels, value] of rows) lines.push(`${pad(name, w0)}  ${pad(labels, w1)}  ${value}`);
  }
  const ok = result.queries.filter((q) => q.status === 'ok').length;
  const skipped = result.queries.filter((q) => q.status === 'skipped');
  const failed = result.queries.filter((q) => q.status === 'error');
  lines.push('', `queries: ${ok} ok, ${skipped.length} skipped, ${failed.length} failed`);
  for (const q of failed) lines.push(`  FAILED  ${queryOutcome(q)}`);
  for (const q of skipped) lines.push(`  skipped ${queryOutcome(q)}`);
  for (const q of result.queries) {
    for (const w of q.warnings ?? []) lines.push(`  warning ${printable(q.query)}: ${printable(w)}`);
  }
  lines.push(...excludedLines(result));
  return `${lines.join('\n')}\n`;
}
