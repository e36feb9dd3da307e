/**
 * The collector's own metric model: what a collection produces and what every exporter consumes.
 *
 * It is deliberately smaller than OTLP: one timestamp per collection, numbers only, and two kinds.
 * `otlp/build.ts` turns it into OTLP `ResourceMetrics`; `export/remote-write-labels.ts` into Prometheus
 * series, which `export/remote-write-proto.ts` writes as a `WriteRequest`.
 */

/** The three collection tiers and their seed cadences. */
export type Tier = 'critical' | 'standard' | 'historical';

/** Every tier, in cadence order. */
export const TIERS: readonly Tier[] = ['critical', 'standard', 'historical'];

/**
 * Seconds between two runs of each tier: the seed's `data_freshness` (15 s / 60 s / 300 s), except that the
 * historical tier runs every 240 s. A sample carries the time it was measured, and Prometheus (and Amazon Managed
 * Prometheus) answer an instant query from the last 5 minutes only: samples 300 s apart leave a gap whenever one
 * run starts a moment later than the previous one. Every fourth minute keeps 60 s of margin and shares the :00
 * run with the standard tier.
 */
export const TIER_INTERVAL_SECONDS: Readonly<Record<Tier, number>> = {
  critical: 15,
  standard: 60,
  historical: 240,
};

/**
 * `gauge`: a value that goes up and down.
 * `counter`: a cumulative, monotonic sum (OTLP Sum, monotonic, cumulative temporality).
 */
export type MetricKind = 'gauge' | 'counter';

/** Attribute (label) values are always strings; numbers and booleans are rendered by the query layer. */
export type Attributes = Readonly<Record<string, string>>;

/** One value of one series at the collection's timestamp. */
export interface MetricPoint {
  readonly attributes: Attributes;
  readonly value: number;
  /** Start of the cumulative window in epoch ms (counters only), e.g. from `stats_reset`. */
  readonly startTimeMs?: number;
}

/** All points of one metric name produced by one collection. */
export interface MetricFamily {
  /** OTel-style dotted name, e.g. `postgresql.database.size`. */
  readonly name: string;
  /** UCUM unit, e.g. `By`, `s`, `1`, `{connection}`. */
  readonly unit: string;
  readonly description: string;
  readonly kind: MetricKind;
  readonly points: readonly MetricPoint[];
}

/** Attributes that describe the monitored server, shared by every point (OTLP resource). */
export type ResourceAttributes = Readonly<Record<string, string>>;

/** Everything one collection produced, ready for export. */
export interface MetricBatch {
  readonly resource: ResourceAttributes;
  /** Collection timestamp of every point, epoch milliseconds. */
  readonly timeMs: number;
  readonly families: readonly MetricFamily[];
}

/** Number of points (samples) across all families of a batch. */
export function countSamples(batch: Pick<MetricBatch, 'families'>): number {
  let n = 0;
  for (const family of batch.families) n += family.points.length;
  return n;
}
