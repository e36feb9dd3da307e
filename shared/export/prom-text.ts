import type { MetricBatch, MetricKind } from '../model/metrics.ts';
import { toTimeSeriesByFamily } from './remote-write-labels.ts';
import type { TimeSeries } from './remote-write-series.ts';

/**
 * Prometheus text exposition format 0.0.4 of a batch, for `pgotel collect` and debugging: the same
 * names, labels and de-duplication as remote-write (it is built from `toTimeSeriesByFamily`).
 */

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Go's `strconv.ParseFloat` spelling of the special values; ordinary numbers as JavaScript writes them. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function seriesLine(name: string, series: TimeSeries): string {
  const parts: string[] = [];
  for (const label of series.labels) {
    if (label.name !== '__name__') parts.push(`${label.name}="${escapeLabelValue(label.value)}"`);
  }
  const value = formatValue(series.samples[0]?.value ?? Number.NaN);
  return parts.length === 0 ? `${name} ${value}` : `${name}{${parts.join(',')}} ${value}`;
}

/**
 * Renders a batch as Prometheus text (`text/plain; version=0.0.4`): one `# HELP` / `# TYPE` block per
 * metric name, no timestamps. Families that map to one Prometheus name are rendered as one block, with
 * the first family's description and kind. An empty description falls back to the OTel name and unit,
 * because `promtool check metrics` flags metrics without help.
 */
export function toPrometheusText(batch: MetricBatch): string {
  const groups = new Map<string, { help: string; kind: MetricKind; lines: string[] }>();
  for (const { family, name, series } of toTimeSeriesByFamily(batch)) {
    let group = groups.get(name);
    if (group === undefined) {
      const help =
        family.description.trim() !== '' ? family.description.trim() : `${family.name} (${family.unit})`;
      group = { help, kind: family.kind, lines: [] };
      groups.set(name, group);
    }
    for (const s of series) group.lines.push(seriesLine(name, s));
  }
  let out = '';
  for (const [name, group] of groups) {
    out += `# HELP ${name} ${escapeHelp(group.help)}\n# TYPE ${name} ${group.kind}\n`;
    for (const line of group.lines) out += `${line}\n`;
  }
  return out;
}
