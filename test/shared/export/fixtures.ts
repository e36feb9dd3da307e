import type { MetricBatch, MetricFamily } from '../../../shared/model/metrics.ts';

/** Test fixtures of the remote-write encoder tests. */

/** Lower-case hex of bytes, for exact byte comparisons with readable failures. */
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Deterministic PRNG (LCG), so a failing property case can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A batch at a fixed time. */
export function batchOf(
  resource: Record<string, string>,
  families: MetricFamily[],
  timeMs = 1_700_000_000_000,
): MetricBatch {
  return { resource, timeMs, families };
}

/** A gauge family without description. */
export const gauge = (name: string, points: MetricFamily['points'], unit = '1'): MetricFamily => ({
  name,
  unit,
  description: '',
  kind: 'gauge',
  points,
});
