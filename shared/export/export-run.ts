import { type ArchiveDestination, type ArchiveSummary, archiveRun } from '../archive/archive-run.ts';
import type { MetricBatch, Tier } from '../model/metrics.ts';
import {
  RemoteWriteEncoder,
  type RemoteWriteOptions,
  type RemoteWriteReport,
  sendRemoteWrite,
} from './remote-write.ts';
import { eachTimeSeriesWithKeys } from './remote-write-labels.ts';
import { staleNaN, type TimeSeries } from './remote-write-series.ts';
import { labelsFromKey } from './staleness.ts';

/** Where a run's data goes; either may be absent. */
export interface ExportDestinations {
  readonly remoteWrite?: Omit<RemoteWriteOptions, 'deadlineMs'>;
  readonly archive?: ArchiveDestination;
}

/** One run's batches and what identifies them. */
export interface ExportRequest {
  readonly batches: readonly { readonly tier: Tier; readonly batch: MetricBatch }[];
  readonly cluster: string;
  readonly target: string;
  readonly scheduledAtMs: number;
  /** Absolute epoch ms by which both exports must be done (the Lambda's remaining time). */
  readonly deadlineMs: number;
  /**
   * Series keys (`seriesKey`) the previous run of the same target and tier exported. Those missing now get a
   * stale marker, so Prometheus stops showing a dropped table or an ended session at once.
   */
  readonly previousSeries?: Partial<Record<Tier, readonly string[]>>;
  /**
   * Whether a metric (Prometheus name) was collected in this run. A previous series of a metric that was not
   * (its query not due, or failed) is neither marked stale nor forgotten. @default every metric was collected
   */
  readonly collected?: (metricName: string) => boolean;
}

/** Outcome of exporting one run. */
export interface ExportSummary {
  readonly remoteWrite?: RemoteWriteReport & { readonly staleMarkers: number };
  readonly archive?: ArchiveSummary;
  /** Series keys per tier to pass as `previousSeries` to the next run (tiers not in this run keep theirs). */
  readonly series: Record<Tier, string[]>;
}

/** The series of each tier, plus stale markers for what vanished since the previous run. */
export function seriesWithStaleness(request: Omit<ExportRequest, 'deadlineMs'>): {
  fresh: TimeSeries[];
  stale: TimeSeries[];
  keys: Record<Tier, string[]>;
} {
  const fresh: TimeSeries[] = [];
  const { stale, keys } = eachSeriesWithStaleness(request, (series) => fresh.push(series));
  return { fresh, stale, keys };
}

/**
 * `seriesWithStaleness` one series at a time: each fresh series goes to `onSeries` as soon as it is built, tier by
 * tier, and is not kept here; the stale markers (known only once a tier's series are all built) are returned.
 */
export function eachSeriesWithStaleness(
  request: Omit<ExportRequest, 'deadlineMs'>,
  onSeries: (series: TimeSeries) => void,
): { stale: TimeSeries[]; keys: Record<Tier, string[]> } {
  // A tier this run did not collect keeps its previous keys, so a caller may store the result whole.
  const keys: Record<Tier, string[]> = {
    critical: [...(request.previousSeries?.critical ?? [])],
    standard: [...(request.previousSeries?.standard ?? [])],
    historical: [...(request.previousSeries?.historical ?? [])],
  };
  const stale: TimeSeries[] = [];
  const collected = request.collected ?? (() => true);
  for (const { tier, batch } of request.batches) {
    const previous = request.previousSeries?.[tier] ?? [];
    const { keys: current, matched } = eachTimeSeriesWithKeys(batch, onSeries, {}, previous);
    // A previous key that is live again needs nothing, and in steady state that is nearly all of them, found
    // in order by the builder: the (long) keys are hashed only when some previous key was not found that way.
    let live: Set<string> | undefined;
    const marked = new Set<string>();
    const carried: string[] = [];
    for (let i = 0; i < previous.length; i++) {
      if (matched[i] === 1) continue;
      const key = previous[i] as string;
      live ??= new Set(current);
      if (live.has(key)) continue;
      const labels = labelsFromKey(key);
      const name = labels?.find((l) => l.name === '__name__')?.value;
      // A key that does not decode (stored by another version, or damaged) cannot be marked: forget it.
      if (labels === undefined || name === undefined) continue;
      if (!collected(name)) {
        carried.push(key);
      } else if (!marked.has(key)) {
        marked.add(key);
        stale.push({ labels, samples: [{ value: staleNaN(), timestampMs: batch.timeMs }] });
      }
    }
    keys[tier] = carried.length === 0 ? current : current.concat(carried);
  }
  return { stale, keys };
}

/**
 * Remote-writes and archives one run at the same time. Neither can sink the other: when Prometheus is down
 * the archive is still written (and `replay` re-sends it later), and an S3 failure does not stop remote-write.
 *
 * Memory: the series are encoded into compressed requests as they are built (`RemoteWriteEncoder`), so a run
 * holds its batches, its series keys and about 33 bytes a sample of requests, not every series object and every
 * uncompressed request at once (which took a 52,000-series run of a 256 MB Lambda over its memory).
 */
export async function exportRun(
  request: ExportRequest,
  destinations: ExportDestinations,
): Promise<ExportSummary> {
  const remote = destinations.remoteWrite;
  const encoder = remote === undefined ? undefined : new RemoteWriteEncoder(remote);
  const { stale, keys } = eachSeriesWithStaleness(
    request,
    encoder === undefined ? () => undefined : (series) => encoder.add(series),
  );
  // Stale markers go last, after every tier's fresh series: the same requests as sending `[...fresh, ...stale]`.
  for (const series of stale) encoder?.add(series);
  const [remoteWriteReport, archiveSummary] = await Promise.all([
    remote === undefined || encoder === undefined
      ? undefined
      : sendRemoteWrite(encoder.finish(), { ...remote, deadlineMs: request.deadlineMs }).then((report) => ({
          ...report,
          staleMarkers: stale.length,
        })),
    destinations.archive === undefined ? undefined : archiveRun(request, destinations.archive),
  ]);
  return {
    ...(remoteWriteReport === undefined ? {} : { remoteWrite: remoteWriteReport }),
    ...(archiveSummary === undefined ? {} : { archive: archiveSummary }),
    series: keys,
  };
}
