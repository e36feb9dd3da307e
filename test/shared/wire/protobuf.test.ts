import { describe, expect, it } from 'vitest';
import {
  ProtobufReader,
  ProtobufWriter,
  utf8Length,
  varintSize,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
} from '../../../shared/wire/protobuf.ts';
import { f64, fixed64, group, message, str, tag, unknownFields, varint, vint } from '../otlp/protobuf.ts';

const hex = (bytes: Uint8Array | number[]): string => Buffer.from(bytes).toString('hex');

/** What one writer call produces, from a buffer that must grow to hold it. */
function written(write: (w: ProtobufWriter) => void, size = 1): Uint8Array {
  const w = new ProtobufWriter(size);
  w.ensure(64);
  write(w);
  return w.finish();
}

class TestDecodeError extends Error {}

function reader(bytes: number[]): ProtobufReader {
  return new ProtobufReader(
    Uint8Array.from(bytes),
    (message, pos) => new TestDecodeError(`${message} @${pos}`),
  );
}

describe('varintSize', () => {
  it('counts the bytes of varints at every length boundary', () => {
    const cases: [number, number][] = [
      [0, 1],
      [127, 1],
      [128, 2],
      [2 ** 14 - 1, 2],
      [2 ** 14, 3],
      [2 ** 28 - 1, 4],
      [2 ** 28, 5],
      [2 ** 32 - 1, 5],
      [2 ** 32, 5],
      [2 ** 35 - 1, 5],
      [2 ** 35, 6],
      [2 ** 42, 7],
      [2 ** 49 - 1, 7],
      [2 ** 49, 8],
      [2 ** 53 - 1, 8],
      [-1, 10],
      [-(2 ** 53), 10],
    ];
    expect(cases.map(([value]) => [value, varintSize(value)])).toEqual(cases);
  });

  it('equals the bytes the reference writer produces (property)', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const value of [2 ** bits - 1, 2 ** bits, -(2 ** bits)]) {
        if (value > Number.MAX_SAFE_INTEGER) continue;
        expect(varintSize(value), `value ${value}`).toBe(varint(value).length);
      }
    }
  });
});

describe('ProtobufWriter varints', () => {
  it('writes lengths and tags below 2^32 exactly', () => {
    expect(hex(written((w) => w.varint(0)))).toBe('00');
    expect(hex(written((w) => w.varint(127)))).toBe('7f');
    expect(hex(written((w) => w.varint(128)))).toBe('8001');
    expect(hex(written((w) => w.varint(300)))).toBe('ac02');
    expect(hex(written((w) => w.varint(2 ** 32 - 1)))).toBe('ffffffff0f');
  });

  it('writes int64 values exactly: above 2^32, up to 2^53 - 1, and negative as ten bytes', () => {
    expect(hex(written((w) => w.int64(0)))).toBe('00');
    expect(hex(written((w) => w.int64(2 ** 32)))).toBe('8080808010');
    expect(hex(written((w) => w.int64(1_700_000_000_000)))).toBe('80d095ffbc31');
    expect(hex(written((w) => w.int64(2 ** 53 - 1)))).toBe('ffffffffffffff0f');
    expect(hex(written((w) => w.int64(-1)))).toBe('ffffffffffffffffff01');
    expect(hex(written((w) => w.int64(-2)))).toBe('feffffffffffffffff01');
    expect(hex(written((w) => w.int64(-(2 ** 53))))).toBe('80808080808080f0ff01');
  });

  it('writes what the reference writer writes, in varintSize bytes (property)', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const value of [2 ** bits - 1, 2 ** bits, -(2 ** bits), -(2 ** bits) + 1]) {
        if (Math.abs(value) > Number.MAX_SAFE_INTEGER) continue;
        const bytes = written((w) => w.int64(value));
        expect(hex(bytes), `value ${value}`).toBe(hex(varint(value)));
        expect(bytes.length, `value ${value}`).toBe(varintSize(value));
        if (value >= 0 && value < 2 ** 32) expect(hex(written((w) => w.varint(value)))).toBe(hex(bytes));
      }
    }
  });
});

describe('utf8Length', () => {
  const texts: [string, number][] = [
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['a😀b', 6],
    ['\ud800', 3], // a lone high surrogate: written as U+FFFD
    ['\udc00', 3], // a lone low surrogate
    ['x\ud83d', 4], // half an emoji at the end
    ['\ude00\ud83d', 6], // a pair in the wrong order: two lone surrogates
    ['\u007f\u0080', 3],
  ];

  it('counts UTF-8 bytes exactly, lone surrogates as U+FFFD', () => {
    expect(texts.map(([text]) => [text, utf8Length(text)])).toEqual(texts);
  });

  it('agrees with Buffer.byteLength and with what TextEncoder and the writer write', () => {
    for (const [text] of texts) {
      const bytes = written((w) => w.string(text, utf8Length(text)));
      expect(utf8Length(text), JSON.stringify(text)).toBe(Buffer.byteLength(text, 'utf8'));
      expect(hex(bytes), JSON.stringify(text)).toBe(
        hex([...varint(Buffer.byteLength(text)), ...new TextEncoder().encode(text)]),
      );
    }
  });
});

describe('ProtobufWriter messages', () => {
  it('writes strings short and long, ASCII and not, exactly as the reference', () => {
    for (const text of ['pg', 'x'.repeat(47), 'x'.repeat(48), 'y'.repeat(300), 'é'.repeat(40), '😀\ud800']) {
      const bytes = written((w) => {
        w.byte(0x0a);
        w.ensure(5 + utf8Length(text));
        w.string(text, utf8Length(text));
      });
      expect(hex(bytes), text).toBe(hex(str(1, text)));
    }
  });

  it('writes fixed64 and double fields little-endian', () => {
    const bytes = written((w) => {
      w.byte(0x09);
      w.fixed64(0x89abcdef, 0x01234567);
      w.byte(0x11);
      w.double(-1.5);
    });
    expect(hex(bytes)).toBe(hex([...fixed64(1, 0x0123456789abcdefn), ...f64(2, -1.5)]));
  });

  it('sizes nested messages with begin/end, widening the length of bodies over 127 bytes', () => {
    // Prepare: an outer message holding a short and a 200-byte inner message, from a 1-byte buffer.
    const w = new ProtobufWriter(1);
    // Act
    w.byte(0x0a);
    const outer = w.begin();
    w.ensure(1);
    w.byte(0x0a);
    const short = w.begin();
    w.ensure(2);
    w.byte(0x08);
    w.varint(1);
    w.end(short);
    w.ensure(1);
    w.byte(0x12);
    const long = w.begin();
    w.ensure(203);
    w.byte(0x12);
    w.string('z'.repeat(200), 200);
    w.end(long);
    w.end(outer);
    const bytes = w.finish();
    // Assess
    expect(hex(bytes)).toBe(hex(message(1, message(1, vint(1, 1)), message(2, str(2, 'z'.repeat(200))))));
  });

  it('returns the buffer itself when it is exactly full, else the written part', () => {
    const exact = new ProtobufWriter(2);
    exact.varint(300);
    expect(exact.finish()).toBe(exact.bytes);
    const partial = new ProtobufWriter(8);
    partial.varint(300);
    expect(hex(partial.finish())).toBe('ac02');
    expect(partial.finish().buffer).toBe(partial.bytes.buffer);
  });
});

describe('ProtobufReader', () => {
  it('reads back every kind of field the writer writes (round trip)', () => {
    // Prepare
    const w = new ProtobufWriter(1);
    const values = [0, 127, 128, 2 ** 32, 2 ** 53 - 1];
    for (const value of values) {
      w.ensure(11);
      w.byte(0x08);
      w.int64(value);
    }
    w.ensure(11);
    w.byte(0x10);
    w.int64(-(2 ** 40));
    w.ensure(18);
    w.byte(0x19);
    w.double(Number.NEGATIVE_INFINITY);
    w.byte(0x21);
    w.fixed64(0xfffffffe, 0xffffffff); // sfixed64 -2
    w.ensure(1);
    w.byte(0x2a);
    const text = 'é😀 \ud800';
    w.ensure(5 + utf8Length(text));
    w.string(text, utf8Length(text));
    const bytes = w.finish();
    const r = new ProtobufReader(bytes, (m) => new TestDecodeError(m));
    const end = bytes.length;
    // Act
    const read: unknown[] = [];
    while (r.pos < end) {
      const t = r.varint(end);
      if (t === ((1 << 3) | WIRE_VARINT)) read.push(r.varint(end));
      else if (t === ((2 << 3) | WIRE_VARINT)) read.push(r.varintInt64(end));
      else if (t === ((3 << 3) | WIRE_FIXED64)) read.push(r.double(end));
      else if (t === ((4 << 3) | WIRE_FIXED64)) read.push(r.sfixed64(end));
      else if (t === ((5 << 3) | WIRE_LEN)) read.push(r.string(end));
      else throw new Error(`unexpected tag ${t}`);
    }
    // Assess
    expect(read).toEqual([...values, -(2n ** 40n), Number.NEGATIVE_INFINITY, -2, 'é😀 \ufffd']);
  });

  it('reads a sub-message in place up to its end and skips unknown fields of every wire type', () => {
    // Prepare: field 1 is a message holding unknown fields and field 2 = 7; field 3 follows it.
    const r = reader([...message(1, unknownFields(), vint(2, 7)), ...vint(3, 300)]);
    const end = r.buf.length;
    // Act
    expect(r.varint(end)).toBe((1 << 3) | WIRE_LEN);
    const stop = r.delimited(end);
    let inner: number | undefined;
    while (r.pos < stop) {
      const t = r.varint(stop);
      if (t === ((2 << 3) | WIRE_VARINT)) inner = r.varint(stop);
      else r.skip(t & 7, Math.floor(t / 8), stop);
    }
    // Assess
    expect(inner).toBe(7);
    expect(r.pos).toBe(stop);
    expect(r.varint(end)).toBe((3 << 3) | WIRE_VARINT);
    expect(r.varint(end)).toBe(300);
    expect(r.pos).toBe(end);
  });

  it('fails through the codec error with what went wrong and where', () => {
    const fails = (bytes: number[], read: (r: ProtobufReader, end: number) => unknown): string => {
      const r = reader(bytes);
      try {
        read(r, bytes.length);
      } catch (error) {
        expect(error).toBeInstanceOf(TestDecodeError);
        return (error as Error).message;
      }
      throw new Error('no error');
    };
    expect(fails([0x80, 0x80], (r, end) => r.varint(end))).toBe('truncated varint @2');
    expect(fails(Array(11).fill(0xff), (r, end) => r.varint(end))).toBe('varint longer than 10 bytes @10');
    expect(fails(Array(11).fill(0xff), (r, end) => r.varintInt64(end))).toBe(
      'varint longer than 10 bytes @10',
    );
    expect(fails([0x05, 0x61], (r, end) => r.string(end))).toBe('length 5 overruns its message @1');
    expect(fails([0, 0, 0], (r, end) => r.double(end))).toBe('truncated: 8 bytes needed @0');
    expect(fails([1, 2, 3], (r, end) => r.skip(5, 9, end))).toBe('truncated: 4 bytes needed @0');
    expect(fails([], (r, end) => r.skip(7, 9, end))).toBe('unexpected wire type 7 for field 9 @0');
    expect(fails(tag(2, 4), (r, end) => r.skip(3, 1, end))).toBe('group 1 closed by end-group 2 @1');
    expect(fails(group(1, vint(2, 1)).slice(1, -1), (r, end) => r.skip(3, 1, end))).toBe(
      'truncated varint @2',
    );
  });
});
