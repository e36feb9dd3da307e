/**
 * The protobuf wire format, shared by the OTLP archive codec (`otlp/`) and the Prometheus remote-write
 * encoder (`export/`). No schema and no reflection: each codec knows its fields and uses these pieces to
 * size, write and read them. Encoders size first (`varintSize`, `utf8Length`) and then fill one buffer,
 * which is what keeps the export hot path allocation-light.
 */

/** Wire types (the low three bits of a field tag). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/**
 * Bytes of the varint of `value`: an integer up to 2^53 (exact), or a negative one, which protobuf writes
 * as a 64-bit two's complement and so always takes ten bytes.
 */
export function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  return 8; // up to 2^56, beyond any safe integer
}

/**
 * UTF-8 bytes of `text`. A lone surrogate counts three bytes: `ProtobufWriter.string` writes it as U+FFFD,
 * as `TextEncoder` does, so a size measured here is the size written.
 */
export function utf8Length(text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  return n;
}

/**
 * `array`, or a copy at least `needed` long (doubling) holding its values: the encoders' scratch arrays of lengths
 * measured before writing.
 */
export function grown(array: Int32Array, needed: number): Int32Array {
  if (needed <= array.length) return array;
  let size = array.length * 2;
  while (size < needed) size *= 2;
  const next = new Int32Array(size);
  next.set(array);
  return next;
}

/**
 * A protobuf writer over one buffer. Encoders that sized their message exactly allocate it once; the
 * others call `ensure` before writing and the buffer doubles when needed. Fields and tags are written by
 * the caller, byte by byte: a codec's tags are constants.
 */
export class ProtobufWriter {
  /** The output, a plain `Uint8Array` (snappyjs compresses one faster than a `Buffer`). */
  bytes: Uint8Array;
  /** The same memory as a `Buffer`, for its UTF-8 writer. */
  private buf: Buffer;
  private view: DataView;
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.buf = Buffer.from(this.bytes.buffer, 0, size);
    this.view = new DataView(this.bytes.buffer, 0, size);
  }

  /** Grows the buffer so that `extra` more bytes fit. */
  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.buf = Buffer.from(next.buffer, 0, size);
    this.view = new DataView(next.buffer, 0, size);
  }

  /** The bytes written so far (the buffer itself when it is exactly full). */
  finish(): Uint8Array {
    return this.pos === this.bytes.length ? this.bytes : this.bytes.subarray(0, this.pos);
  }

  /** One raw byte: a tag or a one-byte value. */
  byte(value: number): void {
    this.bytes[this.pos++] = value;
  }

  /** The varint of a non-negative integer below 2^32: a tag, a length, an enum value. */
  varint(value: number): void {
    const bytes = this.bytes;
    let pos = this.pos;
    let v = value >>> 0;
    while (v > 0x7f) {
      bytes[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    bytes[pos++] = v;
    this.pos = pos;
  }

  /**
   * The varint of an int64 field's value, an integer up to 2^53 in magnitude: a negative one is written as
   * its 64-bit two's complement, ten bytes. Separate from `varint`, whose 32-bit loop the lengths keep.
   */
  int64(value: number): void {
    if (value < 0) {
      this.negativeInt64(BigInt.asUintN(64, BigInt(value)));
      return;
    }
    const bytes = this.bytes;
    let pos = this.pos;
    let v = value;
    while (v > 0x7f) {
      // `& 0x7f` is exact above 2^32 too: ToInt32 keeps the low 32 bits.
      bytes[pos++] = (v & 0x7f) | 0x80;
      v = v < 0x100000000 ? v >>> 7 : Math.floor(v / 128);
    }
    bytes[pos++] = v;
    this.pos = pos;
  }

  private negativeInt64(value: bigint): void {
    let v = value;
    while (v > 0x7fn) {
      this.bytes[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.bytes[this.pos++] = Number(v);
  }

  /** Length prefix and UTF-8 of `text`, whose UTF-8 length is `byteLength` (`utf8Length`). */
  string(text: string, byteLength: number): void {
    this.varint(byteLength);
    const n = text.length;
    if (byteLength === n && n < 48) {
      // Short ASCII, the usual label or attribute: a loop beats the call into the UTF-8 writer.
      const bytes = this.bytes;
      let pos = this.pos;
      for (let i = 0; i < n; i++) bytes[pos++] = text.charCodeAt(i);
      this.pos = pos;
    } else {
      this.pos += this.buf.write(text, this.pos, byteLength, 'utf8');
    }
  }

  /** A fixed64 given as its low and high 32 bits. */
  fixed64(low: number, high: number): void {
    this.view.setUint32(this.pos, low, true);
    this.view.setUint32(this.pos + 4, high, true);
    this.pos += 8;
  }

  double(value: number): void {
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /**
   * Starts a length-delimited message whose tag is already written, for encoders that do not size their
   * messages first: reserves a one-byte length and returns what `end` needs.
   */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the message `begin` started: writes its length, moving the body when it needs more than a byte. */
  end(slot: number): void {
    const length = this.pos - slot - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.ensure(size - 1);
      this.bytes.copyWithin(slot + size, slot + 1, this.pos);
      this.pos += size - 1;
    }
    const end = this.pos;
    this.pos = slot;
    this.varint(length);
    this.pos = end;
  }
}

const utf8 = new TextDecoder('utf-8');

/**
 * A cursor over one protobuf buffer. Sub-messages are read in place: every read takes the end offset of
 * the message it is in, and fails instead of reading past it. Errors are made by the codec's `fail`, so
 * each codec keeps its own error class and wording; `fail` gets the byte offset where reading stopped.
 */
export class ProtobufReader {
  pos: number;
  /** The buffer as a `DataView`, for fixed-width fields a codec interprets itself. */
  readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    private readonly fail: (message: string, pos: number) => Error,
    start = 0,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint as a JS number; exact up to 2^53, which covers tags, lengths, enums and bools. */
  varint(end: number): number {
    let b = this.byte(end);
    if (b < 0x80) return b;
    let result = b & 0x7f;
    let factor = 0x80;
    for (let i = 1; i < 10; i++) {
      b = this.byte(end);
      result += (b & 0x7f) * factor;
      if (b < 0x80) return result;
      factor *= 0x80;
    }
    throw this.error('varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit integer (int64), exactly. */
  varintInt64(end: number): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(end);
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw this.error('varint longer than 10 bytes');
  }

  double(end: number): number {
    this.need(8, end);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** sfixed64 as a JS number (exact up to 2^53). */
  sfixed64(end: number): number {
    this.need(8, end);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes. */
  delimited(end: number): number {
    const len = this.varint(end);
    const stop = this.pos + len;
    if (stop > end) throw this.error(`length ${len} overruns its message`);
    return stop;
  }

  /** A length-delimited UTF-8 string; invalid sequences become U+FFFD. */
  string(end: number): string {
    const stop = this.delimited(end);
    const s = utf8.decode(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return s;
  }

  /** Skips one field's value of any wire type, including (deprecated) groups. */
  skip(wireType: number, field: number, end: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        this.need(8, end);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.delimited(end);
        return;
      case WIRE_FIXED32:
        this.need(4, end);
        this.pos += 4;
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const tag = this.varint(end);
          const innerWire = tag & 7;
          const innerField = Math.floor(tag / 8);
          if (innerWire === WIRE_END_GROUP) {
            if (innerField !== field) throw this.error(`group ${field} closed by end-group ${innerField}`);
            return;
          }
          this.skip(innerWire, innerField, end);
        }
      default:
        throw this.error(`unexpected wire type ${wireType} for field ${field}`);
    }
  }

  /** Fails unless `n` more bytes are there before `end`. */
  need(n: number, end: number): void {
    if (this.pos + n > end) throw this.error(`truncated: ${n} bytes needed`);
  }

  /** The codec's error for `message` at the current position. */
  error(message: string): Error {
    return this.fail(message, this.pos);
  }

  private byte(end: number): number {
    if (this.pos >= end) throw this.error('truncated varint');
    return this.buf[this.pos++] ?? 0;
  }
}
