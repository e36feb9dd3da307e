import type { S3Client } from '@aws-sdk/client-s3';
import { FileArchiveStore } from './file-store.ts';
import { S3ArchiveStore } from './s3-store.ts';
import { ArchiveError, type OpenedArchiveStore } from './store.ts';

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
