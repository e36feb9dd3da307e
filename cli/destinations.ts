import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArchiveCompression } from '../shared/archive/s3-key.ts';
import { createS3Client } from '../shared/archive/s3-store.ts';
import { archiveDestination, remoteWriteDestination } from '../shared/config/runtime.ts';
import { type PgotelConfig, remoteWriteSchema } from '../shared/config/schema.ts';
import type { ExportDestinations } from '../shared/export/export-run.ts';
import { createCaFetch } from '../shared/export/remote-write.ts';
import { UsageError } from './collect.ts';

/** Export flags shared by `collect` and `replay`. */
export interface DestinationFlags {
  readonly remoteWrite?: string;
  readonly archive?: string;
  /** `--out DIR`: the archive layout under a local directory (same as `--archive file://DIR`). */
  readonly out?: string;
  readonly compression?: ArchiveCompression;
}

/** Destinations plus what must be closed when the command is done (clients, HTTPS agents). */
export interface OpenedDestinations {
  readonly destinations: ExportDestinations;
  close(): void;
}

/**
 * Builds the export destinations from flags, falling back to the config file, with every client built once
 * here. S3 honours `AWS_ENDPOINT_URL` (LocalStack, MiniStack, Floci) with path-style addressing, and the usual
 * AWS credential chain.
 */
export async function buildDestinations(
  flags: DestinationFlags,
  config: PgotelConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<OpenedDestinations> {
  const closers: (() => void)[] = [];
  const close = () => {
    for (const fn of closers.splice(0)) fn();
  };
  try {
    const remoteUrl = flags.remoteWrite ?? config?.remote_write?.url;
    const archiveUrl =
      flags.out === undefined
        ? (flags.archive ?? config?.archive?.url)
        : pathToFileURL(resolve(flags.out)).href;
    let remoteWrite: ExportDestinations['remoteWrite'];
    if (remoteUrl !== undefined) {
      if (!/^https?:\/\//.test(remoteUrl))
        throw new UsageError(`--remote-write: expected an http(s) URL, got "${remoteUrl}"`);
      const rw = { ...(config?.remote_write ?? remoteWriteSchema.parse({ url: remoteUrl })), url: remoteUrl };
      let fetch: ReturnType<typeof createCaFetch> | undefined;
      if (rw.ca_file !== undefined) {
        fetch = createCaFetch(readFileSync(rw.ca_file, 'utf8'));
        closers.push(fetch.close);
      }
      remoteWrite = await remoteWriteDestination(rw, fetch === undefined ? {} : { fetch: fetch.fetch });
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
      if (s3 !== undefined) closers.push(() => s3.destroy());
      const compression = flags.compression ?? config?.archive?.compression ?? 'none';
      archive = archiveDestination(archiveUrl, compression, s3 === undefined ? {} : { s3 });
    }
    return {
      destinations: {
        ...(remoteWrite === undefined ? {} : { remoteWrite }),
        ...(archive === undefined ? {} : { archive }),
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
