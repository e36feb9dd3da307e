import { prometheusMetricName } from '../../shared/export/prom-names.ts';
import { TIER_INTERVAL_SECONDS } from '../../shared/model/metrics.ts';
import { BUILTIN_QUERIES } from '../../shared/queries/catalog.ts';

/**
 * How often each built-in metric gets a new sample, from the query catalog: a `rate()` window must hold at
 * least two samples, so a panel over a 60 s or 240 s counter cannot use Grafana's `$__rate_interval`
 * (derived from the data source's 15 s scrape interval, 1 minute at the shortest).
 */
const CADENCES: ReadonlyMap<string, number> = (() => {
  const cadences = new Map<string, number>();
  for (const query of BUILTIN_QUERIES) {
    const seconds = query.intervalSeconds ?? TIER_INTERVAL_SECONDS[query.tier];
    for (const metric of query.metrics) {
      const name = prometheusMetricName(metric);
      cadences.set(name, Math.max(seconds, cadences.get(name) ?? 0));
    }
  }
  return cadences;
})();

/** Seconds between two samples of a built-in metric. @throws {Error} for a name no built-in query emits. */
export function cadenceSeconds(metric: string): number {
  const seconds = CADENCES.get(metric);
  if (seconds === undefined) throw new Error(`${metric} is not a metric of a built-in query`);
  return seconds;
}

/**
 * The range of `rate()`/`increase()` over `metric`: `$__rate_interval` for the 15 s tier, four sample
 * intervals otherwise (`4m` for the 60 s tier, `16m` for the 240 s historical tier), the window Prometheus
 * recommends so one missed run does not blank the graph.
 */
export function rateWindow(metric: string): string {
  const seconds = cadenceSeconds(metric);
  return seconds <= TIER_INTERVAL_SECONDS.critical ? '$__rate_interval' : `${(4 * seconds) / 60}m`;
}
