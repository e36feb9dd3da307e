/**
 * The archive's storage port. Two adapters: S3 (`s3-store.ts`) and a local directory (`file-store.ts`),
 * chosen by the config's `archive.url`. Keys are `/`-separated and relative to the store's root.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { FileArchiveStore } from './file-store.ts';
import { S3ArchiveStore } from './s3-store.ts';

/** Metadata stored with an object (S3 headers; the file store has nowhere to keep it). */
export interface ArchiveObjectMeta {
  readonly contentType: string;
  readonly contentEncoding?: string;
}

/** Where archive objects live. */
export interface ArchiveStore {
  /** Writes (or overwrites) one object; readers never see a partial object. */
  put(key: string, body: Uint8Array, meta: ArchiveObjectMeta): Promise<void>;
  /** Keys starting with `prefix`, in lexicographic (UTF-8 byte) order. */
  list(prefix: string): AsyncIterable<string>;
  /** The object's bytes as stored (no content decoding). */
  get(key: string): Promise<Uint8Array>;
  /** A human-readable location for summaries, e.g. `s3://bucket/key` or `file:///dir/key`. */
  describe(key: string): string;
}

/** A store plus the key prefix the archive URL names. */
export interface OpenedArchiveStore {
  readonly store: ArchiveStore;
  /** Without leading or trailing slash; `''` for the root. */
  readonly prefix: string;
}

/** Raised by stores; the message names the object, the cause carries the SDK or fs error. */
export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
}

/**
 * Opens the store an archive URL names: `s3://bucket/prefix` (needs `deps.s3`) or `file://DIR`
 * (`file:///abs/dir` or `file://relative/dir`). For file URLs the whole path is the store root and the
 * prefix is empty.
 * @throws ArchiveError for an unsupported URL, or an s3 URL without an S3 client
 */
export function openArchiveStore(
  url: string,
  deps: { s3?: S3Client; timeoutMs?: number },
): OpenedArchiveStore {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (s3 !== null) {
    const [, bucket = '', rest = ''] = s3;
    if (deps.s3 === undefined) throw new ArchiveError(`archive url ${url} needs an S3 client`);
    const options = deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs };
    return {
      store: new S3ArchiveStore(deps.s3, bucket, options),
      prefix: rest.replace(/^\/+|\/+$/g, ''),
    };
  }
  if (url.startsWith('file://')) {
    return { store: FileArchiveStore.fromUrl(url), prefix: '' };
  }
  throw new ArchiveError(`unsupported archive url ${url}: expected s3://bucket/prefix or file://DIR`);
}
