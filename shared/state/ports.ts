import type { Tier } from '../model/metrics.ts';

/**
 * The run's persistent state, behind two small ports. `runCollection` reads and writes them; the shells pick
 * an adapter: DynamoDB in the Lambda (`dynamodb-*.ts`), memory for a one-off local run (`memory.ts`).
 */

/** Series keys (`seriesKey`) each tier of a target exported last time, for stale markers. */
export type SeriesByTier = Partial<Record<Tier, readonly string[]>>;

/** Remembers, per (target, tier), the series the previous run exported. */
export interface SeriesStateStore {
  /** The previous run's keys for each of `tiers`; a tier never saved is absent. */
  load(target: string, tiers: readonly Tier[]): Promise<SeriesByTier>;
  /**
   * Stores the keys of the given tiers. A tier whose keys equal what `load` returned (or what was saved last)
   * is not written at all.
   */
  save(target: string, series: SeriesByTier): Promise<void>;
}

/** The cardinality budget of the config's `cardinality` section. */
export interface CardinalityPolicy {
  /** New series of one metric beyond this many within the window are dropped. @default 10000 */
  readonly maxSeriesPerMetric: number;
  /** A series seen within this many seconds is still counted against (and admitted by) the budget. @default 3600 */
  readonly windowSeconds: number;
}

/**
 * Per-metric windows of recently seen series. A series already in its metric's window is admitted; a new one
 * is admitted while the metric has fewer than `maxSeriesPerMetric` live entries, and refused otherwise.
 * Implementations must keep the budget across invocations and concurrent writers (conditional writes).
 */
export interface CardinalityStore {
  /**
   * Admits candidate series into the windows of `scope` (the target).
   * @param candidates metric name → identities of the series this run produced (stable strings, e.g. hashes)
   * @returns metric name → identities refused; metrics with nothing refused are absent
   */
  admit(
    scope: string,
    candidates: ReadonlyMap<string, readonly string[]>,
    policy: CardinalityPolicy,
    nowMs: number,
  ): Promise<ReadonlyMap<string, ReadonlySet<string>>>;
}
