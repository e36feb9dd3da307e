/**
 * The series of Prometheus remote-write 1.0, shared by the modules that build them (`remote-write-labels.ts`),
 * encode them (`remote-write-proto.ts`), and end them (`staleness.ts`), and the stale marker they carry.
 */

/** One Prometheus label. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/**
 * One series of a `WriteRequest`. `toTimeSeries` shares label objects between series of a batch,
 * so treat them as immutable.
 */
export interface TimeSeries {
  labels: Array<{ name: string; value: string }>;
  samples: Array<{ value: number; timestampMs: number }>;
}

/** Bit pattern Prometheus uses as the staleness marker (`value.StaleNaN`). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

const scratch = new DataView(new ArrayBuffer(8));

/**
 * A NaN carrying the stale-marker payload. V8 may set the quiet bit when the number is copied
 * into a double array, so `isStaleNaN` and the encoder recognise the payload with or without it.
 */
export function staleNaN(): number {
  scratch.setBigUint64(0, STALE_NAN_BITS, true);
  return scratch.getFloat64(0, true);
}

/** `true` when `value` is a stale marker (a NaN with payload 2, quiet bit ignored). */
export function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  scratch.setFloat64(0, value, true);
  return scratch.getUint32(0, true) === 2 && (scratch.getUint32(4, true) & 0x7ff7ffff) === 0x7ff00000;
}
