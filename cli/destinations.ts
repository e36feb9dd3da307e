import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectArchive } from '../shared/archive/archive-run.ts';
import type { ArchiveCompression } from '../shared/archive/s3-key.ts';
import { createS3Client } from '../shared/archive/s3-store.ts';
import { ConfigError } from '../shared/config/errors.ts';
import { archiveDestination, remoteWriteDestination } from '../shared/config/runtime.ts';
import { type PgotelConfig, remoteWriteSchema } from '../shared/config/schema.ts';
import type { ExportDestinations } from '../shared/export/export-run.ts';
import { createCaFetch } from '../shared/export/remote-write.ts';
import { UsageError } from './collect.ts';
import { archiveUrlProblem, displayUrl, remoteWriteUrlProblem } from './urls.ts';

/** Export flags shared by `collect` and `replay`. */
export interface DestinationFlags {
  readonly remoteWrite?: string;
  readonly archive?: string;
  /** `--out DIR`: the archive layout under a local directory, which may be relative (`--archive` takes a URL). */
  readonly out?: string;
  readonly compression?: ArchiveCompression;
  /** `--config FILE`, named in errors about the config's `remote_write` and `archive` sections. */
  readonly config?: string;
}

/** Destinations plus what must be closed when the command is done (clients, HTTPS agents). */
export interface OpenedDestinations {
  /** The CLI archives to an object store (`s3://`, `file://`), never to a delivery stream. */
  readonly destinations: ExportDestinations & { readonly archive?: ObjectArchive };
  close(): void;
}

/** A config error raised by code that only saw the parsed config, attributed to the file it came from. */
async function attributed<T>(work: Promise<T>, configFile: string | undefined): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ConfigError && configFile !== undefined) throw error.withSource(configFile);
    throw error;
  }
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
    const fromConfig = flags.config === undefined ? 'the config' : flags.config;
    let remoteWrite: ExportDestinations['remoteWrite'];
    if (remoteUrl !== undefined) {
      const problem = remoteWriteUrlProblem(remoteUrl);
      const flag = flags.remoteWrite === undefined ? `remote_write.url in ${fromConfig}` : '--remote-write';
      if (problem !== undefined) throw new UsageError(`${flag}: ${problem}`);
      const defaults = remoteWriteSchema.safeParse({ url: remoteUrl });
      if (!defaults.success)
        throw new UsageError(`${flag}: ${JSON.stringify(displayUrl(remoteUrl))} is not a valid URL`);
      const rw = { ...(config?.remote_write ?? defaults.data), url: remoteUrl };
      let fetch: ReturnType<typeof createCaFetch> | undefined;
      if (rw.ca_file !== undefined) {
        fetch = createCaFetch(readFileSync(rw.ca_file, 'utf8'));
        closers.push(fetch.close);
      }
      remoteWrite = await attributed(
        remoteWriteDestination(rw, fetch === undefined ? {} : { fetch: fetch.fetch }),
        flags.config,
      );
    }
    let archive: ObjectArchive | undefined;
    if (archiveUrl !== undefined) {
      const problem = archiveUrlProblem(archiveUrl);
      const flag = flags.archive === undefined ? `archive.url in ${fromConfig}` : '--archive';
      if (problem !== undefined) throw new UsageError(`${flag}: ${problem}`);
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
