import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compress } from 'snappyjs';
import { toTimeSeries } from '../shared/export/remote-write-labels.ts';
import { encodeRequests } from '../shared/export/remote-write-proto.ts';
import type { MetricBatch, MetricFamily } from '../shared/model/metrics.ts';

/** One measurement of the remote-write encoding path. */
export interface RemoteWriteBenchResult {
  readonly samples: number;
  /** toTimeSeries + encodeRequests (2000 samples / 1 MiB) + snappy, per second, best of the runs. */
  readonly samplesPerSecond: number;
  /** The same per second of this process's CPU time (user + system): steadier on a shared machine. */
  readonly samplesPerCpuSecond: number;
  /** Snappy-compressed bytes per sample (what goes on the wire). */
  readonly wireBytesPerSample: number;
  /** Uncompressed protobuf bytes per sample. */
  readonly protobufBytesPerSample: number;
}

/** A batch shaped like a historical-tier collection: per-table families with a few attributes each. */
export function syntheticBatch(samples: number): MetricBatch {
  const perFamily = Math.max(1, Math.ceil(samples / 10));
  const families: MetricFamily[] = [];
  let left = samples;
  for (let f = 0; left > 0; f++) {
    const n = Math.min(perFamily, left);
    left -= n;
    families.push({
      name: `postgresql.table.metric_${f}`,
      unit: f % 2 === 0 ? 'By' : '{tuple}',
      kind: f % 3 === 0 ? 'counter' : 'gauge',
      description: '',
      points: Array.from({ length: n }, (_, i) => ({
        attributes: { 'database.name': `db_${i % 7}`, 'schema.name': 'public', 'table.name': `table_${i}` },
        value: i * 1024.5,
      })),
    });
  }
  return {
    resource: {
      'service.name': 'orders',
      'service.instance.id': 'orders-primary.abc.eu-west-1.rds.amazonaws.com:5432',
      'db.system': 'postgresql',
      'db.cluster': 'orders',
      'deployment.environment': 'production',
      'db.version': '16.4',
      'db.role': 'primary',
    },
    timeMs: Date.now(),
    families,
  };
}

/** Encodes 1k / 10k / 100k samples (or `sizes`) `runs` times each and reports the best run. */
export function benchRemoteWrite(
  sizes: readonly number[] = [1_000, 10_000, 100_000],
  runs = 7,
): RemoteWriteBenchResult[] {
  // Warm-up, so the first size is not measured on cold (interpreted) code.
  for (let i = 0; i < 20; i++)
    encodeRequests(toTimeSeries(syntheticBatch(2_000)), { maxSamples: 2000, maxBytes: 1_048_576 });
  return sizes.map((samples) => {
    const batch = syntheticBatch(samples);
    let best = Number.POSITIVE_INFINITY;
    let bestCpu = Number.POSITIVE_INFINITY;
    let wire = 0;
    let protobuf = 0;
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      wire = 0;
      protobuf = 0;
      for (const { body } of encodeRequests(toTimeSeries(batch), { maxSamples: 2000, maxBytes: 1_048_576 })) {
        protobuf += body.length;
        wire += compress(body).length;
      }
      best = Math.min(best, performance.now() - start);
      const cpu = process.cpuUsage(cpuStart);
      bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000);
    }
    return {
      samples,
      samplesPerSecond: Math.round(samples / (best / 1000)),
      samplesPerCpuSecond: Math.round(samples / (Math.max(bestCpu, 0.001) / 1000)),
      wireBytesPerSample: Number((wire / samples).toFixed(2)),
      protobufBytesPerSample: Number((protobuf / samples).toFixed(2)),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of benchRemoteWrite()) {
    console.log(
      `remote-write encode ${String(r.samples).padStart(7)} samples: ${r.samplesPerSecond.toLocaleString('en')} samples/s ` +
        `(${r.samplesPerCpuSecond.toLocaleString('en')} per CPU second), ` +
        `${r.wireBytesPerSample} B/sample on the wire (${r.protobufBytesPerSample} B protobuf)`,
    );
  }
}
