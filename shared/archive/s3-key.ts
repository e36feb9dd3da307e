/**
 * Archive object keys. The layout is the Hive-style minute partitioning of the OTel collector's S3
 * exporter (`year=/month=/day=/hour=/minute=`), taken from the data's time, followed by
 * `<cluster>/<target>/<tier>-<scheduled time>.binpb[.gz]`.
 *
 * The file name depends only on (target, tier, scheduled time), never on wall clock or randomness:
 * a Lambda retry of the same collection overwrites its earlier object instead of adding a duplicate.
 */

import type { Tier } from '../model/metrics.ts';
import { TIERS } from '../model/metrics.ts';

/** Archive object compression. */
export type ArchiveCompression = 'none' | 'gzip';

/** Everything that determines an archive key. */
export interface ArchiveKeyInput {
  /** Key prefix without trailing slash; `''` for the bucket (or directory) root. */
  readonly prefix: string;
  readonly cluster: string;
  readonly target: string;
  readonly tier: Tier;
  /** When the collection was scheduled (the request's `scheduledAt`), epoch ms. */
  readonly scheduledAtMs: number;
  /** The data's collection time, epoch ms: chooses the partition. */
  readonly timeMs: number;
  readonly compression: ArchiveCompression;
}

/** What `parseArchiveKey` recovers from a key. */
export interface ParsedArchiveKey {
  readonly prefix: string;
  readonly cluster: string;
  readonly target: string;
  readonly tier: Tier;
  readonly scheduledAtMs: number;
  /** Start of the partition minute (UTC), epoch ms. */
  readonly timeMs: number;
  readonly compression: ArchiveCompression;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Up to this many minutes, `partitionPrefixes` lists minute partitions; beyond, hours or days. */
const MAX_MINUTE_PREFIXES = 180;
/** Up to this many hours, `partitionPrefixes` lists hour partitions; beyond, days. */
const MAX_HOUR_PREFIXES = 72;

/**
 * Builds the deterministic key of one archive object, e.g.
 * `pgotel/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/critical-20261121T193015Z.binpb`.
 * @throws Error when cluster or target is empty, or a time is not a finite number
 */
export function archiveKey(input: ArchiveKeyInput): string {
  const file = `${input.tier}-${compactIso(input.scheduledAtMs)}.binpb${input.compression === 'gzip' ? '.gz' : ''}`;
  return `${minutePrefix(input.prefix, input.timeMs)}${encodeSegment(input.cluster, 'cluster')}/${encodeSegment(input.target, 'target')}/${file}`;
}

/**
 * The partition prefixes (each ending with `/`) that together contain every object whose partition
 * minute lies in [fromMs, toMs]. Short ranges get minute prefixes; longer ones hour or day prefixes, so a
 * replay of a week is 7 listings, not 10,080; the caller filters listed keys by `parseArchiveKey().timeMs`.
 */
export function partitionPrefixes(prefix: string, fromMs: number, toMs: number): string[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs))
    throw new Error('partitionPrefixes: range must be finite');
  if (toMs < fromMs) return [];
  const minutes = Math.floor(toMs / MINUTE_MS) - Math.floor(fromMs / MINUTE_MS) + 1;
  if (minutes <= MAX_MINUTE_PREFIXES) return stepPrefixes(prefix, fromMs, toMs, MINUTE_MS, 'minute');
  const hours = Math.floor(toMs / HOUR_MS) - Math.floor(fromMs / HOUR_MS) + 1;
  if (hours <= MAX_HOUR_PREFIXES) return stepPrefixes(prefix, fromMs, toMs, HOUR_MS, 'hour');
  return stepPrefixes(prefix, fromMs, toMs, DAY_MS, 'day');
}

const KEY_PATTERN =
  /^(?:(.*)\/)?year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/minute=(\d{2})\/([^/]+)\/([^/]+)\/([a-z]+)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z\.binpb(\.gz)?$/;

/** Parses a key made by `archiveKey`; undefined for anything else (foreign objects in the bucket). */
export function parseArchiveKey(key: string): ParsedArchiveKey | undefined {
  const m = KEY_PATTERN.exec(key);
  if (m === null) return undefined;
  const [, prefix = '', y, mo, d, h, mi, cluster, target, tier, sy, smo, sd, sh, smi, ss, sms, gz] = m;
  if (!isTier(tier)) return undefined;
  const timeMs = utc(y, mo, d, h, mi, '0', '0');
  const scheduledAtMs = utc(sy, smo, sd, sh, smi, ss, sms ?? '0');
  if (timeMs === undefined || scheduledAtMs === undefined) return undefined;
  const decodedCluster = decodeSegment(cluster);
  const decodedTarget = decodeSegment(target);
  if (decodedCluster === undefined || decodedTarget === undefined) return undefined;
  return {
    prefix,
    cluster: decodedCluster,
    target: decodedTarget,
    tier,
    scheduledAtMs,
    timeMs,
    compression: gz === undefined ? 'none' : 'gzip',
  };
}

/** A stream object's key: written by the delivery stream, holding records of many runs. */
export interface ParsedStreamKey {
  readonly prefix: string;
  /** Start of the partition minute (UTC): when the stream received the object's oldest record. */
  readonly timeMs: number;
  readonly compression: ArchiveCompression;
}

const STREAM_KEY_PATTERN =
  /^(?:(.*)\/)?year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/minute=(\d{2})\/([^/]+)\.binpb(\.gz)?$/;

/**
 * Parses the key of an object the delivery stream wrote (the stream's own file name right under the minute
 * partition, e.g. `pgotel/year=2026/…/minute=05/pgotel-archive-1-2026-11-29-14-05-12-<uuid>.binpb.gz`);
 * undefined for anything else, per-run objects included (they sit two folders deeper).
 */
export function parseStreamKey(key: string): ParsedStreamKey | undefined {
  const m = STREAM_KEY_PATTERN.exec(key);
  if (m === null) return undefined;
  const [, prefix = '', y, mo, d, h, mi, , gz] = m;
  const timeMs = utc(y, mo, d, h, mi, '0', '0');
  if (timeMs === undefined) return undefined;
  return { prefix, timeMs, compression: gz === undefined ? 'none' : 'gzip' };
}

/**
 * Percent-encodes everything outside `[A-Za-z0-9._-]` (UTF-8, upper-case hex), which is S3's safe set
 * minus the characters that need care in URLs and shells. `.` and `..` are encoded too: as path
 * segments they would escape the directory of a file:// archive.
 */
export function encodeSegment(value: string, what = 'segment'): string {
  if (value.length === 0) throw new Error(`archive key: ${what} must not be empty`);
  if (value === '.' || value === '..') return value.replaceAll('.', '%2E');
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function isTier(value: string | undefined): value is Tier {
  return (TIERS as readonly (string | undefined)[]).includes(value);
}

function minutePrefix(prefix: string, timeMs: number): string {
  const t = utcParts(timeMs, 'timeMs');
  return `${root(prefix)}year=${t.year}/month=${t.month}/day=${t.day}/hour=${t.hour}/minute=${t.minute}/`;
}

function stepPrefixes(
  prefix: string,
  fromMs: number,
  toMs: number,
  step: number,
  depth: 'minute' | 'hour' | 'day',
): string[] {
  const out: string[] = [];
  const base = root(prefix);
  for (let t = Math.floor(fromMs / step) * step; t <= toMs; t += step) {
    const p = utcParts(t, 'range');
    let s = `${base}year=${p.year}/month=${p.month}/day=${p.day}/`;
    if (depth !== 'day') s += `hour=${p.hour}/`;
    if (depth === 'minute') s += `minute=${p.minute}/`;
    out.push(s);
  }
  return out;
}

/** `''` stays the root; anything else gets exactly one trailing slash. */
function root(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function utcParts(ms: number, what: string) {
  if (!Number.isFinite(ms)) throw new Error(`archive key: ${what} must be a finite epoch ms, got ${ms}`);
  const iso = new Date(ms).toISOString();
  return {
    year: iso.slice(0, 4),
    month: iso.slice(5, 7),
    day: iso.slice(8, 10),
    hour: iso.slice(11, 13),
    minute: iso.slice(14, 16),
  };
}

/** `20261121T193000Z`; milliseconds (`20261121T193000.250Z`) only when the schedule has them. */
function compactIso(ms: number): string {
  if (!Number.isFinite(ms))
    throw new Error(`archive key: scheduledAtMs must be a finite epoch ms, got ${ms}`);
  const iso = new Date(ms).toISOString(); // 2026-11-21T19:30:00.000Z
  const millis = iso.slice(20, 23);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${millis === '000' ? '' : `.${millis}`}Z`;
}

function utc(...parts: (string | undefined)[]): number | undefined {
  const [y, mo, d, h, mi, s, ms] = parts.map((p) => Number(p ?? 'NaN'));
  if ([y, mo, d, h, mi, s, ms].some((n) => n === undefined || !Number.isInteger(n))) return undefined;
  const t = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0, ms ?? 0);
  // Rejects month=13 or minute=75, which Date.UTC would silently roll over.
  const back = new Date(t);
  if (back.getUTCMonth() !== (mo ?? 1) - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h)
    return undefined;
  if (back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) return undefined;
  return t;
}
