import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { compress } from 'snappyjs';
import { encodeRequests, toTimeSeries } from '../shared/export/remote-write-encode.ts';
import { encodeExportRequest } from '../shared/otlp/build.ts';
import { syntheticBatch } from './export-remote-write.ts';

/** The whole export encoding path for one batch size. */
export interface ExportBenchResult {
  readonly samples: number;
  /** OTLP build + protobuf, remote-write series + protobuf + snappy, per second of CPU time, median run. */
  readonly samplesPerCpuSecond: number;
  /** The same per second of wall time, median run. */
  readonly samplesPerSecond: number;
  /** Snappy-compressed remote-write bytes per sample. */
  readonly remoteWriteBytesPerSample: number;
  /** OTLP protobuf bytes per sample, as archived without and with gzip. */
  readonly otlpBytesPerSample: number;
  readonly otlpGzipBytesPerSample: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * Encodes 1k / 10k / 100k samples (historical-tier shaped: per-table series with a few labels) through both
 * exporters, exactly what a collector invocation does after the queries: OTLP request for the archive, and
 * remote-write requests of ≤ 2,000 samples, snappy-compressed.
 */
export function benchExport(
  sizes: readonly number[] = [1_000, 10_000, 100_000],
  runs = 9,
): ExportBenchResult[] {
  const warm = syntheticBatch(2_000);
  for (let i = 0; i < 30; i++) {
    encodeExportRequest(warm);
    for (const { body } of encodeRequests(toTimeSeries(warm), { maxSamples: 2000, maxBytes: 1_048_576 }))
      compress(body);
  }
  return sizes.map((samples) => {
    const batch = syntheticBatch(samples);
    const wall: number[] = [];
    const cpu: number[] = [];
    let wire = 0;
    let otlp = 0;
    let otlpGzip = 0;
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const archived = encodeExportRequest(batch);
      wire = 0;
      for (const { body } of encodeRequests(toTimeSeries(batch), { maxSamples: 2000, maxBytes: 1_048_576 })) {
        wire += compress(body).length;
      }
      const used = process.cpuUsage(cpuStart);
      wall.push(performance.now() - start);
      cpu.push((used.user + used.system) / 1000);
      otlp = archived.length;
      if (run === 0) otlpGzip = gzipSync(archived).length;
    }
    return {
      samples,
      samplesPerCpuSecond: Math.round(samples / (median(cpu) / 1000)),
      samplesPerSecond: Math.round(samples / (median(wall) / 1000)),
      remoteWriteBytesPerSample: Number((wire / samples).toFixed(1)),
      otlpBytesPerSample: Number((otlp / samples).toFixed(1)),
      otlpGzipBytesPerSample: Number((otlpGzip / samples).toFixed(1)),
    };
  });
}
