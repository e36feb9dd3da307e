import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectArchive } from '../archive/archive-run.ts';
import { openArchiveStore } from '../archive/open.ts';
import type { ArchiveCompression } from '../archive/s3-key.ts';
import type { CollectTarget } from '../collect/collect.ts';
import { type ConnectionParams, parseDsn } from '../db/connection.ts';
import type { ExportDestinations } from '../export/export-run.ts';
import type { RemoteWriteAuth, RemoteWriteFetch } from '../export/remote-write.ts';
import type { RequestSigner } from '../export/sigv4.ts';
import { BUILTIN_QUERIES } from '../queries/catalog.ts';
import type { QueryDefinition, QueryLimits } from '../queries/types.ts';
import { connectionFromSecret, parseRdsSecret, secretValueField } from '../secrets/rds-secret.ts';
import type { SecretSource } from '../secrets/secret-source.ts';
import type { CardinalityPolicy } from '../state/ports.ts';
import { ConfigError } from './errors.ts';
import { buildQuerySet } from './query-set.ts';
import type { PgotelConfig, RemoteWriteConfig, TargetConfig } from './schema.ts';
import { findTarget, resolveLimits, resolveTarget } from './targets.ts';

/**
 * Config → runtime: turns the validated config into what one run needs (the target plan, the connection
 * source, the export destinations). Reads no environment and builds no client: the shell passes them in.
 */

/** Where a run's connection parameters come from: a DSN, or a secret that may be rotated. */
export interface ConnectionSource {
  /** Whether a fresh read can differ from a cached one (a Secrets Manager secret can be rotated). */
  readonly refreshable: boolean;
  /** Host, port, user, password, database, TLS. `fresh` bypasses any cache. */
  get(options: { readonly fresh: boolean }): Promise<ConnectionParams>;
}

/** Everything that does not change between runs of one target: built once per process. */
export interface TargetPlan {
  readonly name: string;
  readonly config: TargetConfig;
  readonly queries: readonly QueryDefinition[];
  readonly limits: QueryLimits;
  readonly intervals: Readonly<Record<string, number>>;
  /** The config's `cardinality` section, when it has one. */
  readonly cardinality?: CardinalityPolicy;
  /** The engine's target for resolved connection parameters. */
  target(connection: ConnectionParams): CollectTarget;
}

/**
 * The plans of every target, keyed by name. What targets share (the query set, limits, cardinality policy) is
 * built once, so a container planning a large fleet at cold start does not redo it per target.
 * @throws ConfigError for bad query names
 */
export function planTargets(config: PgotelConfig): Map<string, TargetPlan> {
  const queries = buildQuerySet(config, BUILTIN_QUERIES);
  const limits = resolveLimits(config.queries.limits);
  const cardinality = config.cardinality;
  const policy =
    cardinality === undefined
      ? {}
      : {
          cardinality: {
            maxSeriesPerMetric: cardinality.max_series_per_metric,
            windowSeconds: cardinality.window_seconds,
          },
        };
  return new Map(
    config.targets.map((targetConfig) => [
      targetConfig.name,
      {
        name: targetConfig.name,
        config: targetConfig,
        queries,
        limits,
        intervals: config.queries.intervals,
        ...policy,
        target: (connection: ConnectionParams) => resolveTarget(config, targetConfig, connection),
      },
    ]),
  );
}

/**
 * The plan of one target (the first when `name` is undefined).
 * @throws Error naming the targets that exist when there is no such target; ConfigError for bad query names
 */
export function planTarget(config: PgotelConfig, name?: string): TargetPlan {
  const targetConfig = name === undefined ? config.targets[0] : findTarget(config, name);
  if (targetConfig === undefined) throw new ConfigError('config', ['targets: the config has no targets']);
  const plan = planTargets({ ...config, targets: [targetConfig] }).get(targetConfig.name);
  if (plan === undefined) throw new ConfigError('config', [`targets: no plan for ${targetConfig.name}`]);
  return plan;
}

/** TLS for a secret whose target sets none: RDS accepts TLS everywhere, so never send a password in clear. */
const SECRET_DEFAULT_TLS = { mode: 'require' } as const;

/**
 * The connection source of a target: its `dsn` (or `dsnOverride`), or its `secret_arn` read through `secrets`
 * as RDS secret JSON.
 * @throws ConfigError when the target uses a secret and no secret source is given (local runs)
 */
export function connectionSource(
  target: TargetConfig,
  deps: { readonly secrets?: SecretSource; readonly dsnOverride?: string },
): ConnectionSource {
  const dsn = deps.dsnOverride ?? target.dsn;
  if (dsn !== undefined) {
    const params = parseDsn(dsn);
    return { refreshable: false, get: async () => params };
  }
  const arn = target.secret_arn;
  const secrets = deps.secrets;
  if (arn === undefined || secrets === undefined) {
    throw new ConfigError('config', [
      `targets.${target.name}.secret_arn: secrets are read by the Lambda; local collection needs a dsn (or --dsn)`,
    ]);
  }
  return {
    refreshable: true,
    get: async ({ fresh }) => {
      const secret = parseRdsSecret(await secrets.get(arn, { fresh }), arn);
      return connectionFromSecret(secret, { tls: target.tls ?? SECRET_DEFAULT_TLS });
    },
  };
}

/** Process-wide pieces a remote-write destination may use, built once by the shell. */
export interface RemoteWriteDeps {
  readonly secrets?: SecretSource;
  /** A fetch trusting `remote_write.ca_file` (see `createCaFetch`). */
  readonly fetch?: RemoteWriteFetch;
  /** A SigV4 signer for `auth.type: sigv4` (see `createSigV4Signer`). */
  readonly signer?: RequestSigner;
}

async function secretOrValue(
  value: string | undefined,
  arn: string | undefined,
  field: 'password' | 'token',
  deps: RemoteWriteDeps,
): Promise<string> {
  if (value !== undefined) return value;
  if (arn === undefined) {
    throw new ConfigError('config', [`remote_write.auth: set ${field} or ${field}_secret_arn`]);
  }
  if (deps.secrets === undefined) {
    throw new ConfigError('config', [
      `remote_write.auth.${field}_secret_arn: secrets are read by the Lambda; set remote_write.auth.${field} for local use`,
    ]);
  }
  return secretValueField(await deps.secrets.get(arn), field, arn);
}

/** Remote-write auth with secrets resolved. */
async function resolveAuth(rw: RemoteWriteConfig, deps: RemoteWriteDeps): Promise<RemoteWriteAuth> {
  const auth = rw.auth;
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'basic':
      return {
        type: 'basic',
        username: auth.username,
        password: await secretOrValue(auth.password, auth.password_secret_arn, 'password', deps),
      };
    case 'bearer':
      return { type: 'bearer', token: await secretOrValue(auth.token, auth.token_secret_arn, 'token', deps) };
    case 'sigv4':
      return { type: 'sigv4', region: auth.region, service: auth.service };
  }
}

/** The remote-write destination of `rw` (its URL, or `url` when given), secrets resolved. */
export async function remoteWriteDestination(
  rw: RemoteWriteConfig,
  deps: RemoteWriteDeps,
): Promise<NonNullable<ExportDestinations['remoteWrite']>> {
  return {
    url: rw.url,
    auth: await resolveAuth(rw, deps),
    timeoutMs: rw.timeout_ms,
    maxAttempts: rw.max_attempts,
    maxSamples: rw.max_samples_per_request,
    maxBytes: rw.max_bytes_per_request,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.signer === undefined ? {} : { signer: deps.signer }),
  };
}

/**
 * The archive destination of an `s3://bucket/prefix` or `file://DIR` URL.
 * @throws ArchiveError for an unsupported URL, or an s3 URL without an S3 client
 */
export function archiveDestination(
  url: string,
  compression: ArchiveCompression,
  deps: { readonly s3?: S3Client },
): ObjectArchive {
  return { ...openArchiveStore(url, deps), compression };
}
