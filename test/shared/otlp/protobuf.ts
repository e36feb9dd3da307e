/**
 * A tiny protobuf writer for tests: builds expected bytes and hand-made inputs field by field, written
 * independently of the code under test.
 */

/** Base-128 varint of a non-negative integer (or a two's complement bigint). */
export function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** A field key. */
export function tag(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

/** Length-delimited field (sub-message or bytes). */
export function message(field: number, ...parts: number[][]): number[] {
  const body = parts.flat();
  return [...tag(field, 2), ...varint(body.length), ...body];
}

/** String field. */
export function str(field: number, value: string): number[] {
  return message(field, [...new TextEncoder().encode(value)]);
}

/** Varint field. */
export function vint(field: number, value: number | bigint): number[] {
  return [...tag(field, 0), ...varint(value)];
}

/** Little-endian 8 bytes of a double. */
export function f64(field: number, value: number): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, true);
  return [...tag(field, 1), ...bytes];
}

/** fixed64 / sfixed64 field. */
export function fixed64(field: number, value: bigint): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return [...tag(field, 1), ...bytes];
}

/** fixed32 field. */
export function fixed32(field: number, value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return [...tag(field, 5), ...bytes];
}

/** A (deprecated) group: start-group, the fields, end-group. */
export function group(field: number, ...parts: number[][]): number[] {
  return [...tag(field, 3), ...parts.flat(), ...tag(field, 4)];
}

/** One unknown field of every wire type, numbered high enough to be unknown everywhere in OTLP. */
export function unknownFields(): number[] {
  return [
    ...vint(90, 300),
    ...fixed64(91, 123n),
    ...str(92, 'ignored'),
    ...fixed32(93, 7),
    ...group(94, vint(1, 1), str(2, 'x'), group(3, fixed32(4, 1))),
  ];
}

/** Epoch ms → Unix nanoseconds. */
export function nanos(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}
