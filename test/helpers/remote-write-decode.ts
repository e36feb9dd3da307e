/**
 * Prometheus remote-write `WriteRequest` decoding, for tests only: the product encodes WriteRequests and
 * never reads one. Tests decode what the encoder wrote or a receiver got, bit patterns of values included.
 */
import type { Label } from '../../shared/export/remote-write-series.ts';
import { ProtobufReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../../shared/wire/protobuf.ts';

/** Bit pattern ordinary NaN values are written with (Prometheus `value.NormalNaN`), never the stale one. */
export const NORMAL_NAN_BITS = 0x7ff8000000000001n;

/** A decoded sample with the exact bit pattern of its value (to tell stale markers from NaN). */
export interface DecodedSample {
  readonly value: number;
  readonly valueBits: bigint;
  readonly timestampMs: number;
}

/** A decoded series. */
export interface DecodedTimeSeries {
  readonly labels: Label[];
  readonly samples: DecodedSample[];
}

/** The input is not a well-formed `WriteRequest`. */
export class WriteRequestDecodeError extends Error {
  override readonly name = 'WriteRequestDecodeError';
}

function fail(message: string, pos: number): WriteRequestDecodeError {
  return new WriteRequestDecodeError(`invalid WriteRequest at byte ${pos}: ${message}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const scratch = new DataView(new ArrayBuffer(8));

/**
 * Decodes an uncompressed `prompb.WriteRequest`. Unknown fields are skipped; text that is not valid UTF-8
 * fails, since the encoder must never write it.
 * @throws {WriteRequestDecodeError} on malformed input.
 */
export function decodeWriteRequest(bytes: Uint8Array): DecodedTimeSeries[] {
  const r = new ProtobufReader(bytes, fail);
  const end = bytes.length;
  const out: DecodedTimeSeries[] = [];
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      out.push(readSeries(r, stop));
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return out;
}

function readSeries(r: ProtobufReader, end: number): DecodedTimeSeries {
  const labels: Label[] = [];
  const samples: DecodedSample[] = [];
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      labels.push(readLabel(r, stop));
      r.pos = stop;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      samples.push(readSample(r, stop));
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return { labels, samples };
}

function readLabel(r: ProtobufReader, end: number): Label {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) name = strictString(r, end);
    else if (tag === ((2 << 3) | WIRE_LEN)) value = strictString(r, end);
    else r.skip(tag & 7, Math.floor(tag / 8), end);
  }
  return { name, value };
}

function strictString(r: ProtobufReader, end: number): string {
  const stop = r.delimited(end);
  let text: string;
  try {
    text = utf8.decode(r.buf.subarray(r.pos, stop));
  } catch {
    throw r.error('string is not valid UTF-8');
  }
  r.pos = stop;
  return text;
}

function readSample(r: ProtobufReader, end: number): DecodedSample {
  let valueBits = 0n;
  let timestampMs = 0;
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_FIXED64)) {
      r.need(8, end);
      valueBits = r.view.getBigUint64(r.pos, true);
      r.pos += 8;
    } else if (tag === ((2 << 3) | WIRE_VARINT)) {
      timestampMs = Number(r.varintInt64(end));
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  scratch.setBigUint64(0, valueBits, true);
  return { value: scratch.getFloat64(0, true), valueBits, timestampMs };
}
