import type { S3Client } from '@aws-sdk/client-s3';
import { FileArchiveStore } from './file-store.ts';
import { S3ArchiveStore } from './s3-store.ts';
import { ArchiveError, type OpenedArchiveStore } from './store.ts';

/** The URL for a message, without user info (`scheme://user:password@`). */
function shown(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
}

/**
 * Opens the store an archive URL names: `s3://bucket/prefix` (needs `deps.s3`) or `file:///absolute/dir`.
 * For file URLs the whole path is the store root and the prefix is empty.
 * @throws ArchiveError for an unsupported URL, an s3 URL without an S3 client, or a file URL that is not
 * absolute (`file://relative/dir` names a host)
 */
export function openArchiveStore(
  url: string,
  deps: { s3?: S3Client; timeoutMs?: number },
): OpenedArchiveStore {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (s3 !== null) {
    const [, bucket = '', rest = ''] = s3;
    if (deps.s3 === undefined) throw new ArchiveError(`archive url ${shown(url)} needs an S3 client`);
    const options = deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs };
    return {
      store: new S3ArchiveStore(deps.s3, bucket, options),
      prefix: rest.replace(/^\/+|\/+$/g, ''),
    };
  }
  if (url.startsWith('file://')) {
    return { store: FileArchiveStore.fromUrl(url), prefix: '' };
  }
  throw new ArchiveError(
    `unsupported archive url ${shown(url)}: expected s3://bucket/prefix or file:///absolute/dir`,
  );
}
