/**
 * Archive one collection: MetricBatch → OTLP protobuf (optionally gzip) → store, under its deterministic
 * key; and the way back for replay.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { MetricBatch, Tier } from '../model/metrics.ts';
import { encodeExportRequest } from '../otlp/build.ts';
import { decodeExportRequest } from '../otlp/decode.ts';
import type { ArchiveCompression } from './s3-key.ts';
import { archiveKey } from './s3-key.ts';
import type { ArchiveStore } from './store.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Content type of every archive object (OTLP protobuf, as the OTel collector's S3 exporter writes it). */
export const ARCHIVE_CONTENT_TYPE = 'application/x-protobuf';

/** Which collection a batch came from: this (with the data time) fixes the object key. */
export interface ArchiveMeta {
  readonly cluster: string;
  readonly target: string;
  readonly tier: Tier;
  /** The request's `scheduledAt`, epoch ms; retries of one request carry the same value. */
  readonly scheduledAtMs: number;
  readonly compression: ArchiveCompression;
}

/** Where the object went and how big it is (after compression). */
export interface ArchiveResult {
  readonly key: string;
  readonly location: string;
  readonly bytes: number;
}

/**
 * Writes one batch as one `ExportMetricsServiceRequest` object. Idempotent: the same collection
 * (target, tier, scheduled time) always lands on the same key.
 * @throws ArchiveError when the store fails
 */
export async function archiveBatch(
  store: ArchiveStore,
  prefix: string,
  batch: MetricBatch,
  meta: ArchiveMeta,
): Promise<ArchiveResult> {
  // The partition is the slot's minute, not the measurement's: a retry or a duplicate delivery of the same request,
  // however late, lands on the very same key.
  const key = archiveKey({ prefix, ...meta, timeMs: meta.scheduledAtMs });
  const encoded = encodeExportRequest(batch);
  const gzipped = meta.compression === 'gzip';
  const body = gzipped ? new Uint8Array(await gzipAsync(encoded)) : encoded;
  await store.put(
    key,
    body,
    gzipped
      ? { contentType: ARCHIVE_CONTENT_TYPE, contentEncoding: 'gzip' }
      : { contentType: ARCHIVE_CONTENT_TYPE },
  );
  return { key, location: store.describe(key), bytes: body.byteLength };
}

/**
 * Reads one archive object back into batches. `.gz` objects are gunzipped unless the bytes are already
 * plain (an HTTP layer that honoured `Content-Encoding: gzip` may have inflated them on the way).
 * @throws ArchiveError when the store fails; OtlpDecodeError or a zlib error on corrupt content
 */
export async function readArchivedObject(store: ArchiveStore, key: string): Promise<MetricBatch[]> {
  const bytes = await store.get(key);
  const gzipMagic = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const plain = key.endsWith('.gz') && gzipMagic ? new Uint8Array(await gunzipAsync(bytes)) : bytes;
  return decodeExportRequest(plain);
}
