/**
 * Secrets Manager adapter of `SecretSource`. Caching while the container is warm is Powertools'
 * `SecretsProvider`; the client is injected (created once per container by the shell, see
 * `createSecretsManagerClient`).
 */

import { GetParameterError } from '@aws-lambda-powertools/parameters/errors';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretError, type SecretGetOptions, type SecretSource } from './secret-source.ts';

/** Options of `SecretsManagerSource`. */
export interface SecretsManagerSourceOptions {
  /**
   * How long a value is served from the cache, in seconds.
   * @default 300
   */
  readonly maxAgeSeconds?: number;
  /**
   * Upper bound of one `get`, retries included, in ms. Powertools sends the command without an abort signal,
   * so this bounds the wait; the request itself is ended by the client's own timeouts (see
   * `createSecretsManagerClient`).
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/**
 * Secret strings from AWS Secrets Manager (GetSecretValue, AWSCURRENT), cached per instance: build one per
 * container. Give it a client with request timeouts (`createSecretsManagerClient`): Powertools cannot pass an
 * abort signal, so without them a request abandoned at `timeoutMs` keeps its socket until the server answers.
 */
export class SecretsManagerSource implements SecretSource {
  private readonly provider: SecretsProvider;
  private readonly maxAgeSeconds: number;
  private readonly timeoutMs: number;

  constructor(client: SecretsManagerClient, options: SecretsManagerSourceOptions = {}) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
    this.maxAgeSeconds = options.maxAgeSeconds ?? 300;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The `SecretString`; a binary secret is a `SecretError`, as is any failure or a timeout. */
  async get(arn: string, options: SecretGetOptions = {}): Promise<string> {
    let value: string | Uint8Array | undefined;
    try {
      value = await withTimeout(
        // maxAge is always passed: otherwise Powertools reads POWERTOOLS_PARAMETERS_MAX_AGE from the environment.
        this.provider.get(arn, { maxAge: this.maxAgeSeconds, forceFetch: options.fresh === true }),
        this.timeoutMs,
      );
    } catch (error) {
      const cause = error instanceof GetParameterError && error.cause !== undefined ? error.cause : error;
      throw new SecretError(arn, reasonOf(cause), { cause });
    }
    if (typeof value !== 'string')
      throw new SecretError(arn, 'not a string secret (SecretString is not set)');
    return value;
  }
}

class SecretTimeout extends Error {
  override readonly name = 'SecretTimeout';
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new SecretTimeout(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function reasonOf(error: unknown): string {
  if (error instanceof SecretTimeout) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Options of `createSecretsManagerClient`; region and credentials fall back to the SDK's default provider chain. */
export interface CreateSecretsManagerClientOptions {
  /** A non-AWS endpoint (LocalStack, MiniStack, Floci), e.g. from `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /**
   * Upper bound of one HTTP attempt in ms (connect, then the whole request). The SDK only warns when its
   * `requestTimeout` passes unless `throwOnRequestTimeout` is set, which this does.
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/**
 * Creates a Secrets Manager client whose every attempt ends within `timeoutMs`: `SecretsManagerSource`
 * stops waiting after its own timeout, and this makes the abandoned request end too instead of holding a
 * socket. Two attempts, so a throttled or timed-out call is retried once.
 */
export function createSecretsManagerClient(
  options: CreateSecretsManagerClientOptions = {},
): SecretsManagerClient {
  const timeout = options.timeoutMs ?? 5_000;
  return new SecretsManagerClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    requestHandler: {
      connectionTimeout: Math.min(timeout, 3_000),
      requestTimeout: timeout,
      throwOnRequestTimeout: true,
    },
    maxAttempts: 2,
  });
}
