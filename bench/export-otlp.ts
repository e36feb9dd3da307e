/**
 * Benchmark of the OTLP archive encoding (MetricBatch → ExportMetricsServiceRequest protobuf), the
 * archive share of the export budget (≥ 250k samples/s on one core for the whole export path).
 *
 * Run alone: `node --import tsx bench/export-otlp.ts`.
 */
import { gzipSync } from 'node:zlib';
import type { MetricBatch, MetricFamily } from '../shared/model/metrics.ts';
import { encodeExportRequest } from '../shared/otlp/build.ts';
import { decodeExportRequest } from '../shared/otlp/decode.ts';

/** One measured size. */
export interface ExportOtlpResult {
  readonly samples: number;
  readonly encodeSamplesPerSecond: number;
  readonly decodeSamplesPerSecond: number;
  readonly bytesPerSample: number;
  readonly gzipBytesPerSample: number;
}

/**
 * A batch shaped like a historical-tier collection: families of table/index statistics with
 * database/schema/table attributes, a quarter of them counters with a `stats_reset` start time.
 */
export function syntheticBatch(samples: number): MetricBatch {
  const timeMs = Date.UTC(2026, 10, 21, 19, 30, 0);
  const familyCount = Math.max(1, Math.min(40, Math.ceil(samples / 50)));
  const perFamily = Math.ceil(samples / familyCount);
  const families: MetricFamily[] = [];
  let left = samples;
  for (let f = 0; f < familyCount && left > 0; f++) {
    const n = Math.min(perFamily, left);
    left -= n;
    const counter = f % 4 === 0;
    families.push({
      name: `postgresql.table.stat_${f}`,
      unit: counter ? '{operation}' : 'By',
      description: `Synthetic statistic number ${f}.`,
      kind: counter ? 'counter' : 'gauge',
      points: Array.from({ length: n }, (_, i) => {
        const attributes = {
          'postgresql.database.name': `db_${i % 5}`,
          'postgresql.schema.name': 'public',
          'postgresql.table.name': `table_${i}`,
        };
        return counter
          ? { attributes, value: i * 1_000 + f, startTimeMs: timeMs - 86_400_000 }
          : { attributes, value: (i * 8192.5) / 3 };
      }),
    });
  }
  return {
    resource: {
      'service.name': 'postgresql',
      'postgresql.cluster': 'prod',
      'server.address': 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      'server.port': '5432',
      'deployment.environment': 'production',
    },
    timeMs,
    families,
  };
}

function measure(run: () => void, minMs: number): number {
  run(); // warm up
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    run();
    iterations++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return elapsed / iterations;
}

/** Encodes (and decodes) batches of 1k, 10k and 100k samples, returning throughput and size. */
export function benchExportOtlp(
  sizes: readonly number[] = [1_000, 10_000, 100_000],
  minMs = 1_000,
): ExportOtlpResult[] {
  return sizes.map((samples) => {
    const batch = syntheticBatch(samples);
    const bytes = encodeExportRequest(batch);
    const encodeMs = measure(() => encodeExportRequest(batch), minMs);
    const decodeMs = measure(() => decodeExportRequest(bytes), minMs);
    return {
      samples,
      encodeSamplesPerSecond: Math.round((samples / encodeMs) * 1000),
      decodeSamplesPerSecond: Math.round((samples / decodeMs) * 1000),
      bytesPerSample: Math.round((bytes.byteLength / samples) * 10) / 10,
      gzipBytesPerSample: Math.round((gzipSync(bytes).byteLength / samples) * 10) / 10,
    };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchExportOtlp());
}
