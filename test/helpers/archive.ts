import type { S3Client } from '@aws-sdk/client-s3';
import { readArchivedObject } from '../../shared/archive/archive.ts';
import { parseStreamKey, partitionPrefixes } from '../../shared/archive/s3-key.ts';
import { S3ArchiveStore } from '../../shared/archive/s3-store.ts';
import { toTimeSeries } from '../../shared/export/remote-write-labels.ts';
import type { MetricBatch } from '../../shared/model/metrics.ts';
import { STREAM_PARTITION_SLACK_MS } from '../../shared/replay/replay.ts';
import type { PromRangeSeries } from './prometheus.ts';

/**
 * The batches the deployed collector archived (stream objects under `archiveUrl`) with a measurement time in
 * [fromMs, toMs], of one target when `instance` is given. Every object of the partitions that may hold them is read.
 */
export async function archivedBatches(
  s3: S3Client,
  archiveUrl: string,
  fromMs: number,
  toMs: number,
  instance?: string,
): Promise<MetricBatch[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(archiveUrl);
  const store = new S3ArchiveStore(s3, match?.[1] ?? '');
  const prefix = match?.[2] ?? '';
  const batches: MetricBatch[] = [];
  for (const partition of partitionPrefixes(
    prefix,
    fromMs - STREAM_PARTITION_SLACK_MS,
    toMs + STREAM_PARTITION_SLACK_MS,
  )) {
    for await (const key of store.list(partition)) {
      if (parseStreamKey(key) === undefined) continue;
      for (const batch of await readArchivedObject(store, key)) {
        if (batch.timeMs < fromMs || batch.timeMs > toMs) continue;
        if (instance !== undefined && batch.resource['service.instance.id'] !== instance) continue;
        batches.push(batch);
      }
    }
  }
  return batches;
}

/** `name{label="value",…}@timestampMs=value` with labels sorted: one sample, comparable across sources. */
function sampleKey(labels: Record<string, string>, timestampMs: number, value: number): string {
  const { __name__: name, ...rest } = labels;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return `${name}{${pairs.join(',')}}@${timestampMs}=${value}`;
}

/** Every sample of the batches as Prometheus would store it (the remote-write mapping of names and labels). */
export function archivedSamples(batches: readonly MetricBatch[]): Set<string> {
  const out = new Set<string>();
  for (const batch of batches)
    for (const series of toTimeSeries(batch)) {
      const labels = Object.fromEntries(series.labels.map((l) => [l.name, l.value]));
      for (const sample of series.samples) out.add(sampleKey(labels, sample.timestampMs, sample.value));
    }
  return out;
}

/** The samples of raw Prometheus series (from `rawSamples`) in the same form. */
export function prometheusSamples(series: readonly PromRangeSeries[]): string[] {
  return series.flatMap((s) =>
    s.values.map(([ts, value]) => sampleKey(s.metric, Math.round(ts * 1000), value)),
  );
}
