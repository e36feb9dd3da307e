/**
 * S3 adapter of the archive store. The client is injected (created once per container by the handler or
 * CLI); every call carries an abort signal so a hung endpoint cannot eat the Lambda's deadline.
 */

import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ArchiveObjectMeta, ArchiveStore } from './store.ts';
import { ArchiveError } from './store.ts';

/** Options of `S3ArchiveStore`. */
export interface S3ArchiveStoreOptions {
  /**
   * Upper bound of one S3 call (put, one list page, get), in ms.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * Keys per ListObjectsV2 page.
   * @default S3's own (1000)
   */
  readonly pageSize?: number;
}

/** Archive objects in one S3 bucket, server-side encrypted (SSE-S3). */
export class S3ArchiveStore implements ArchiveStore {
  private readonly timeoutMs: number;
  private readonly pageSize: number | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    options: S3ArchiveStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pageSize = options.pageSize;
  }

  /** PutObject with `ServerSideEncryption: AES256` and the given content type/encoding. */
  async put(key: string, body: Uint8Array, meta: ArchiveObjectMeta): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentLength: body.byteLength,
      ContentType: meta.contentType,
      ...(meta.contentEncoding === undefined ? {} : { ContentEncoding: meta.contentEncoding }),
      ServerSideEncryption: 'AES256',
    });
    try {
      await this.client.send(command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new ArchiveError(`put ${this.describe(key)} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** ListObjectsV2, following continuation tokens; S3 returns keys in UTF-8 byte order. */
  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const command = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        ...(this.pageSize === undefined ? {} : { MaxKeys: this.pageSize }),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      });
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        throw new ArchiveError(`list ${this.describe(prefix)} failed: ${messageOf(error)}`, { cause: error });
      }
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** GetObject, body read fully (objects are one collection each: kilobytes to a few megabytes). */
  async get(key: string): Promise<Uint8Array> {
    try {
      const signal = AbortSignal.timeout(this.timeoutMs);
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      if (response.Body === undefined) throw new Error('empty response body');
      return await response.Body.transformToByteArray();
    } catch (error) {
      throw new ArchiveError(`get ${this.describe(key)} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** `s3://bucket/key`. */
  describe(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}

/** Options of `createS3Client`; region and credentials fall back to the SDK's default provider chain. */
export interface CreateS3ClientOptions {
  /** A non-AWS endpoint (LocalStack, MiniStack, Floci, MinIO), e.g. from `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /**
   * Socket-level request timeout in ms (a second bound beside the per-call abort signal).
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/**
 * Creates an S3 client for the archive. With an endpoint, path-style addressing is forced (emulators do
 * not resolve `bucket.localhost`) and checksums are only sent when an operation requires them, which
 * emulators that predate the SDK's default CRC32 checksums need.
 */
export function createS3Client(options: CreateS3ClientOptions = {}): S3Client {
  const timeout = options.requestTimeoutMs ?? 30_000;
  return new S3Client({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.endpoint === undefined
      ? {}
      : {
          endpoint: options.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
    requestHandler: {
      requestTimeout: timeout,
      connectionTimeout: Math.min(timeout, 5_000),
      throwOnRequestTimeout: true,
    },
    maxAttempts: 3,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
