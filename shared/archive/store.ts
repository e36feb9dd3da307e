/**
 * The archive's storage port. Two adapters: S3 (`s3-store.ts`) and a local directory (`file-store.ts`),
 * chosen by the config's `archive.url` (`open.ts`). Keys are `/`-separated and relative to the store's root.
 */

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
