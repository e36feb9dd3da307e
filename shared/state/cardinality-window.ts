import type { CardinalityPolicy } from './ports.ts';

/**
 * The cardinality window as a value: which series each metric was seen with recently, the admission rule
 * over it, and its compact binary form. Pure; the stores keep it (`memory.ts`, `dynamodb-cardinality.ts`).
 *
 * Series identities from callers are arbitrary strings. They are kept as a 53-bit hash (`windowId`), a plain
 * number, so every entry has the same small size whatever the caller's ids look like and lookups allocate
 * nothing. Two different ids with the same hash count as one series: at 10,000 series per metric the chance
 * of any such collision is about 6 in 10^9.
 */

/** metric name → window id (`windowId`) → last time seen, epoch seconds. */
export type WindowState = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** What `admitInto` decided. */
export interface AdmitResult {
  /** metric name → caller ids refused; metrics with nothing refused are absent. */
  readonly refused: Map<string, Set<string>>;
  /** `true` when a series was added or its last-seen time refreshed: the state must be stored again. */
  readonly changed: boolean;
  /** The window after this admission, expired entries dropped. Shares unchanged parts with the input. */
  readonly state: WindowState;
}

/** An empty window. */
export const EMPTY_WINDOW: WindowState = new Map();

/** The stored identity of a caller's series id: cyrb53, a fast 53-bit string hash (not cryptographic). */
export function windowId(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 0x100000000 * (h2 & 0x1fffff) + (h1 >>> 0);
}

/**
 * A known series' last-seen time is refreshed once it is older than this fraction of the window: the entry of a
 * series collected at least every quarter window (15 minutes at the default hour; every default query runs at least
 * every 240 s) never expires, and a steady state is rewritten about once a window, not every run.
 */
export const REFRESH_AFTER_WINDOW_FRACTION = 0.75;

/**
 * Admits `candidates` (metric → caller ids) into a copy of `state` at `nowMs`:
 * - entries last seen `windowSeconds` or longer ago are dropped;
 * - a series already in its metric's window is admitted, and its last-seen time refreshed only when it is
 *   older than three quarters of the window (so a steady set of series rewrites the state about once a window);
 * - new series are admitted while the metric has fewer than `maxSeriesPerMetric` live entries, in the order
 *   of their window id, so a run over the same candidates admits the same ones every time; the rest are
 *   refused.
 * Expiry alone does not set `changed`: readers drop expired entries themselves.
 */
export function admitInto(
  state: WindowState,
  candidates: ReadonlyMap<string, readonly string[]>,
  policy: CardinalityPolicy,
  nowMs: number,
): AdmitResult {
  const now = Math.floor(nowMs / 1000);
  const expiredAtOrBefore = now - policy.windowSeconds;
  const refreshBefore = now - policy.windowSeconds * REFRESH_AFTER_WINDOW_FRACTION;
  const next = new Map<string, ReadonlyMap<number, number>>();
  for (const [metric, entries] of state) {
    const live = withoutExpired(entries, expiredAtOrBefore);
    if (live.size > 0) next.set(metric, live);
  }
  const refused = new Map<string, Set<string>>();
  let changed = false;
  for (const [metric, ids] of candidates) {
    const current = next.get(metric) ?? EMPTY_ENTRIES;
    let own: Map<number, number> | undefined;
    const writable = (): Map<number, number> => {
      own ??= new Map(current);
      return own;
    };
    const fresh = new Map<number, string>();
    for (const id of ids) {
      const key = windowId(id);
      const seen = current.get(key);
      if (seen === undefined) {
        if (!fresh.has(key)) fresh.set(key, id);
      } else if (seen < refreshBefore) {
        writable().set(key, now);
        changed = true;
      }
    }
    const ordered = [...fresh].sort(([a], [b]) => a - b);
    for (const [key, id] of ordered) {
      if ((own ?? current).size < policy.maxSeriesPerMetric) {
        writable().set(key, now);
        changed = true;
      } else {
        const set = refused.get(metric) ?? new Set<string>();
        set.add(id);
        refused.set(metric, set);
      }
    }
    if (own !== undefined) next.set(metric, own);
  }
  return { refused, changed, state: next };
}

const EMPTY_ENTRIES: ReadonlyMap<number, number> = new Map();

/** `entries` itself when nothing expired, so an untouched metric costs one scan and no copy. */
function withoutExpired(
  entries: ReadonlyMap<number, number>,
  expiredAtOrBefore: number,
): ReadonlyMap<number, number> {
  let expired = 0;
  for (const seen of entries.values()) if (seen <= expiredAtOrBefore) expired++;
  if (expired === 0) return entries;
  const live = new Map<number, number>();
  for (const [key, seen] of entries) if (seen > expiredAtOrBefore) live.set(key, seen);
  return live;
}

const FORMAT_VERSION = 1;
const ENTRY_BYTES = 12;

/** A stored window that `decodeWindow` cannot read. */
export class WindowFormatError extends Error {
  override readonly name = 'WindowFormatError';
}

/**
 * The window as bytes: version byte 1, u32 metric count, then per metric u16 name length, the UTF-8 name,
 * u32 entry count and per entry the window id as a u64 and the u32 last-seen seconds (big-endian), 12
 * bytes a series.
 */
export function encodeWindow(state: WindowState): Uint8Array {
  const names = new Map<string, Buffer>();
  let size = 5;
  for (const [metric, entries] of state) {
    const name = Buffer.from(metric, 'utf8');
    if (name.length > 0xffff)
      throw new RangeError(`metric name longer than 65535 bytes: ${metric.slice(0, 80)}`);
    names.set(metric, name);
    size += 2 + name.length + 4 + entries.size * ENTRY_BYTES;
  }
  const out = Buffer.alloc(size);
  let at = out.writeUInt8(FORMAT_VERSION, 0);
  at = out.writeUInt32BE(state.size, at);
  for (const [metric, entries] of state) {
    const name = names.get(metric) ?? Buffer.alloc(0);
    at = out.writeUInt16BE(name.length, at);
    at += name.copy(out, at);
    at = out.writeUInt32BE(entries.size, at);
    for (const [key, seen] of entries) {
      if (!Number.isSafeInteger(key) || key < 0) throw new RangeError(`not a window id: ${key}`);
      at = out.writeUInt32BE(Math.floor(key / 0x100000000), at);
      at = out.writeUInt32BE(key % 0x100000000, at);
      at = out.writeUInt32BE(seen, at);
    }
  }
  return out;
}

/** Reads `encodeWindow`'s bytes; throws `WindowFormatError` on anything else. */
export function decodeWindow(bytes: Uint8Array): WindowState {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, n: number): void => {
    if (at + n > buf.length) throw new WindowFormatError(`truncated at byte ${at} of ${buf.length}`);
  };
  need(0, 5);
  if (buf.readUInt8(0) !== FORMAT_VERSION) throw new WindowFormatError(`unknown version ${buf.readUInt8(0)}`);
  const metrics = buf.readUInt32BE(1);
  let at = 5;
  const state = new Map<string, Map<number, number>>();
  for (let m = 0; m < metrics; m++) {
    need(at, 2);
    const nameLength = buf.readUInt16BE(at);
    need(at + 2, nameLength + 4);
    const metric = buf.toString('utf8', at + 2, at + 2 + nameLength);
    const count = buf.readUInt32BE(at + 2 + nameLength);
    at += 6 + nameLength;
    need(at, count * ENTRY_BYTES);
    const entries = new Map<number, number>();
    for (let i = 0; i < count; i++, at += ENTRY_BYTES) {
      const high = buf.readUInt32BE(at);
      if (high > 0x1fffff) throw new WindowFormatError(`window id above 53 bits at byte ${at}`);
      entries.set(high * 0x100000000 + buf.readUInt32BE(at + 4), buf.readUInt32BE(at + 8));
    }
    state.set(metric, entries);
  }
  if (at !== buf.length) throw new WindowFormatError(`${buf.length - at} trailing bytes`);
  return state;
}
