import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { eachSeriesWithStaleness } from '../shared/export/export-run.ts';
import { RemoteWriteEncoder } from '../shared/export/remote-write.ts';
import { toTimeSeries } from '../shared/export/remote-write-labels.ts';
import type { TimeSeries } from '../shared/export/remote-write-series.ts';
import type { MetricBatch } from '../shared/model/metrics.ts';
import { encodeExportRequest } from '../shared/otlp/build.ts';
import { syntheticBatch } from './export-remote-write.ts';

/** The whole export encoding path for one batch size. */
export interface ExportBenchResult {
  readonly samples: number;
  /** OTLP build + protobuf, remote-write series + protobuf + snappy, per second of CPU time, median run. */
  readonly samplesPerCpuSecond: number;
  /** The same per second of wall time, median run. */
  readonly samplesPerSecond: number;
  /**
   * What `exportRun` encodes, per second of CPU time, median run: the same path with the series built by
   * `eachSeriesWithStaleness` in steady state (every series also in the previous run's keys), so series keys,
   * the key set and the stale-marker check are paid for.
   */
  readonly withStalenessPerCpuSecond: number;
  /** Snappy-compressed remote-write bytes per sample. */
  readonly remoteWriteBytesPerSample: number;
  /** OTLP protobuf bytes per sample, as archived without and with gzip. */
  readonly otlpBytesPerSample: number;
  readonly otlpGzipBytesPerSample: number;
}

const LIMITS = { maxSamples: 5000, maxBytes: 1_048_576 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function cpuMs(used: NodeJS.CpuUsage): number {
  return (used.user + used.system) / 1000;
}

/** Remote-write requests of ≤ 5,000 samples / 1 MiB, snappy-compressed, as `remoteWrite` builds them; wire bytes. */
function remoteWriteBytes(series: Iterable<TimeSeries>): number {
  const encoder = new RemoteWriteEncoder(LIMITS);
  for (const s of series) encoder.add(s);
  return wireBytes(encoder);
}

/** The finished requests' bytes on the wire. */
function wireBytes(encoder: RemoteWriteEncoder): number {
  let wire = 0;
  for (const { body } of encoder.finish().requests) wire += body.length;
  return wire;
}

/** A historical-tier export of `batch` after a run that left the series keys `previous`. */
function historicalRun(batch: MetricBatch, previous: readonly string[]) {
  return {
    batches: [{ tier: 'historical' as const, batch }],
    cluster: 'bench',
    target: 'bench',
    scheduledAtMs: batch.timeMs,
    previousSeries: { historical: previous },
  };
}

/**
 * What `exportRun` encodes for remote-write: the series built with their keys and the staleness check, each
 * encoded and compressed as it comes (`RemoteWriteEncoder`), then the stale markers; wire bytes.
 */
function remoteWriteWithStaleness(batch: MetricBatch, previous: readonly string[]): number {
  const encoder = new RemoteWriteEncoder(LIMITS);
  const { stale } = eachSeriesWithStaleness(historicalRun(batch, previous), (series) => encoder.add(series));
  for (const series of stale) encoder.add(series);
  return wireBytes(encoder);
}

/** The series keys of `batch`, as they come back from storage: equal strings, not the same objects. */
function storedKeys(batch: MetricBatch, previous: readonly string[]): string[] {
  const { keys } = eachSeriesWithStaleness(historicalRun(batch, previous), () => undefined);
  return JSON.parse(JSON.stringify(keys.historical));
}

/**
 * Encodes 1k / 10k / 100k samples (historical-tier shaped: per-table series with a few labels) through both
 * exporters, exactly what a collector invocation does after the queries: OTLP request for the archive, and
 * remote-write requests of ≤ 5,000 samples / 1 MiB, snappy-compressed. Measured twice: the budgeted encoding path
 * (`toTimeSeries`), and `exportRun`'s (`eachSeriesWithStaleness`: series keys and the staleness check, each
 * series encoded as it is built).
 * `runs` is the least number of runs per size; sizes below 22k samples get more (200k samples' worth).
 */
export function benchExport(
  sizes: readonly number[] = [1_000, 10_000, 100_000],
  runs = 9,
): ExportBenchResult[] {
  const warm = syntheticBatch(2_000);
  let warmKeys: string[] = [];
  for (let i = 0; i < 30; i++) {
    encodeExportRequest(warm);
    remoteWriteBytes(toTimeSeries(warm));
    remoteWriteWithStaleness(warm, warmKeys);
    warmKeys = storedKeys(warm, warmKeys);
  }
  return sizes.map((samples) => {
    // Small batches take a few milliseconds: more runs, so the median is of steady state (JIT done), not warm-up.
    const sizeRuns = Math.max(runs, Math.ceil(200_000 / samples));
    const batch = syntheticBatch(samples);
    const wall: number[] = [];
    const cpu: number[] = [];
    const cpuStaleness: number[] = [];
    let wire = 0;
    let otlp = 0;
    let otlpGzip = 0;
    for (let run = 0; run < sizeRuns; run++) {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const archived = encodeExportRequest(batch);
      wire = remoteWriteBytes(toTimeSeries(batch));
      cpu.push(cpuMs(process.cpuUsage(cpuStart)));
      wall.push(performance.now() - start);
      otlp = archived.length;
      if (run === 0) otlpGzip = gzipSync(archived).length;
    }
    // A separate loop, so neither path pays for the other's garbage or live data. The previous run's keys as
    // they come back from storage: equal strings, not the same objects.
    const previous = storedKeys(batch, []);
    for (let run = 0; run < sizeRuns; run++) {
      const cpuStart = process.cpuUsage();
      encodeExportRequest(batch);
      remoteWriteWithStaleness(batch, previous);
      cpuStaleness.push(cpuMs(process.cpuUsage(cpuStart)));
    }
    return {
      samples,
      samplesPerCpuSecond: Math.round(samples / (median(cpu) / 1000)),
      samplesPerSecond: Math.round(samples / (median(wall) / 1000)),
      withStalenessPerCpuSecond: Math.round(samples / (median(cpuStaleness) / 1000)),
      remoteWriteBytesPerSample: Number((wire / samples).toFixed(1)),
      otlpBytesPerSample: Number((otlp / samples).toFixed(1)),
      otlpGzipBytesPerSample: Number((otlpGzip / samples).toFixed(1)),
    };
  });
}
