import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArchiveCompression } from '../shared/archive/s3-key.ts';
import { createS3Client } from '../shared/archive/s3-store.ts';
import { openArchiveStore } from '../shared/archive/store.ts';
import type { PgotelConfig } from '../shared/config/schema.ts';
import type { ExportDestinations } from '../shared/export/export-run.ts';
import type { RemoteWriteAuth } from '../shared/export/remote-write.ts';
import { UsageError } from './collect.ts';

/** Export flags shared by `collect` and `replay`. */
export interface DestinationFlags {
  readonly remoteWrite?: string;
  readonly archive?: string;
  /** `--out DIR`: the archive layout under a local directory (same as `--archive file://DIR`). */
  readonly out?: string;
  readonly compression?: ArchiveCompression;
}

function authFrom(config: PgotelConfig['remote_write']): RemoteWriteAuth {
  const auth = config?.auth ?? { type: 'none' };
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'basic':
      if (auth.password === undefined) {
        throw new UsageError(
          'remote_write.auth.password_secret_arn is read by the Lambda; set remote_write.auth.password for local use',
        );
      }
      return { type: 'basic', username: auth.username, password: auth.password };
    case 'bearer':
      if (auth.token === undefined) {
        throw new UsageError(
          'remote_write.auth.token_secret_arn is read by the Lambda; set remote_write.auth.token for local use',
        );
      }
      return { type: 'bearer', token: auth.token };
    case 'sigv4':
      return { type: 'sigv4', region: auth.region, service: auth.service };
  }
}

/**
 * Builds the export destinations from flags, falling back to the config file. S3 honours `AWS_ENDPOINT_URL`
 * (LocalStack, MiniStack, Floci) with path-style addressing, and the usual AWS credential chain.
 */
export function buildDestinations(
  flags: DestinationFlags,
  config: PgotelConfig | undefined,
  env: NodeJS.ProcessEnv,
): ExportDestinations {
  const remoteUrl = flags.remoteWrite ?? config?.remote_write?.url;
  const archiveUrl =
    flags.out === undefined
      ? (flags.archive ?? config?.archive?.url)
      : pathToFileURL(resolve(flags.out)).href;
  const rw = config?.remote_write;
  let remoteWrite: ExportDestinations['remoteWrite'];
  if (remoteUrl !== undefined) {
    if (!/^https?:\/\//.test(remoteUrl))
      throw new UsageError(`--remote-write: expected an http(s) URL, got "${remoteUrl}"`);
    remoteWrite = {
      url: remoteUrl,
      auth: authFrom(rw),
      ...(rw === undefined
        ? {}
        : {
            timeoutMs: rw.timeout_ms,
            maxAttempts: rw.max_attempts,
            maxSamples: rw.max_samples_per_request,
            maxBytes: rw.max_bytes_per_request,
            ...(rw.ca_file === undefined ? {} : { caFile: rw.ca_file }),
          }),
    };
  }
  let archive: ExportDestinations['archive'];
  if (archiveUrl !== undefined) {
    if (!/^(s3|file):\/\//.test(archiveUrl))
      throw new UsageError(`--archive: expected s3://bucket/prefix or file://DIR, got "${archiveUrl}"`);
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const s3 = archiveUrl.startsWith('s3://')
      ? createS3Client({ region, ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }) })
      : undefined;
    const opened = openArchiveStore(archiveUrl, s3 === undefined ? {} : { s3 });
    archive = { ...opened, compression: flags.compression ?? config?.archive?.compression ?? 'none' };
  }
  return {
    ...(remoteWrite === undefined ? {} : { remoteWrite }),
    ...(archive === undefined ? {} : { archive }),
  };
}
