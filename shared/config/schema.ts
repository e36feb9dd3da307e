import { z } from 'zod';
import type { Tier } from '../model/metrics.ts';

/**
 * The schema of `pgotel.config.yaml`. Keys are snake_case in YAML and in the parsed object alike,
 * so what a user reads in the file is what the code reads. Defaults live here and nowhere else.
 */

const tierEnum = z.enum(['critical', 'standard', 'historical'] as const satisfies readonly Tier[]);
const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'must be snake_case: lower-case letters, digits and _, starting with a letter');
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be a valid label name');

/** TLS to PostgreSQL; same modes as libpq's `sslmode` (allow/prefer are not offered: they can silently downgrade). */
export const tlsSchema = z
  .object({
    /** @default 'require' for secrets, 'disable' for local DSNs without sslmode */
    mode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']),
    /** PEM file with the CA that signed the server certificate (verify-ca, verify-full). */
    ca_file: z.string().min(1).optional(),
    /** Expected host name in the server certificate; defaults to the connection host. */
    server_name: z.string().min(1).optional(),
    /** PEM file with a client certificate, for `cert` authentication (pg_hba `clientcert=verify-full`). */
    cert_file: z.string().min(1).optional(),
    /** PEM file with the client certificate's unencrypted private key; with `cert_file`. */
    key_file: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      const [missing, given] =
        tls.cert_file === undefined ? ['cert_file', 'key_file'] : ['key_file', 'cert_file'];
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: `required with ${given}: a client certificate needs both`,
      });
    } else if (tls.cert_file !== undefined && tls.mode === 'disable') {
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: 'a client certificate needs TLS: use require, verify-ca or verify-full',
      });
    }
  });

/**
 * One tier's session limits, with that tier's defaults (seed `statement_timeout`: critical 5 s, standard 30 s;
 * the seed's 300 s analytics timeout is capped at 60 s for the historical tier, which must fit a Lambda run).
 */
const tierSettings = (statementTimeoutMs: number) =>
  z
    .object({
      /** @default true */
      enabled: z.boolean().default(true),
      /** Per-statement timeout for this tier's queries. @default critical 5000, standard 30000, historical 60000 */
      statement_timeout_ms: z.number().int().positive().default(statementTimeoutMs),
      /** @default 1000 */
      lock_timeout_ms: z.number().int().positive().default(1000),
    })
    .strict();

/** Per-tier settings of a target; every tier is present after parsing, with its defaults. */
export const tiersSchema = z
  .object({
    critical: tierSettings(5_000).prefault({}),
    standard: tierSettings(30_000).prefault({}),
    historical: tierSettings(60_000).prefault({}),
  } satisfies Record<Tier, unknown>)
  .strict()
  .prefault({});

export const targetSchema = z
  .object({
    /** Unique name; also the `service.instance.id` resource attribute and the Prometheus `instance` label. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (max 63)'),
    /** `db.cluster` resource attribute. @default the target name */
    cluster: z.string().min(1).optional(),
    /** AWS Secrets Manager secret in the RDS JSON format (host, port, username, password, dbname). */
    secret_arn: z.string().min(1).optional(),
    /** A libpq URL, for local use: `postgres://user:pass@host:5432/db?sslmode=require`. */
    dsn: z.string().min(1).optional(),
    /** Databases to collect per-database metrics from; empty = every database that allows connections. */
    databases: z.array(z.string().min(1)).default([]),
    /** Databases never visited. */
    exclude_databases: z.array(z.string().min(1)).default([]),
    tls: tlsSchema.optional(),
    /** Extra resource attributes on every point, e.g. `{ team: payments }`. */
    labels: z.record(labelName, z.string().min(1)).default({}),
    /** `deployment.environment` resource attribute; overrides the top-level `environment`. */
    environment: z.string().min(1).optional(),
    /** Per-tier overrides. */
    tiers: tiersSchema,
    /** @default 5000 */
    connect_timeout_ms: z.number().int().positive().default(5000),
    /** Per-database connections open at once for database-scoped queries. @default 2 */
    max_connections: z.number().int().min(1).max(10).default(2),
    /**
     * Seconds a warm collector keeps a session open after its run, for the target's next run to reuse (no
     * connect, relation cache already built); 0 closes every session when its run ends. The server ends a kept
     * session soon after this (idle_session_timeout, PostgreSQL 14+). @default 90
     */
    keep_session_seconds: z.number().int().min(0).max(3600).default(90),
  })
  .strict()
  .refine((t) => (t.secret_arn === undefined) !== (t.dsn === undefined), {
    message: 'set exactly one of secret_arn or dsn',
    path: ['secret_arn'],
  });

/** The seed's `custom_queries` format, plus an optional name, tier and scope. */
export const customQuerySchema = z
  .object({
    /** Used in reports and self-metrics. @default custom_<index> */
    name: identifier.optional(),
    /** @default 'standard' */
    tier: tierEnum.default('standard'),
    /** `database` runs it in every selected database. @default 'cluster' */
    scope: z.enum(['cluster', 'database']).default('cluster'),
    /** Seconds between runs, at least the tier's interval. */
    interval: z.number().int().positive().optional(),
    query: z.string().min(1),
    metrics: z
      .array(
        z
          .object({
            name: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be a metric name like custom.table.bloat'),
            value_column: z.string().min(1),
            data_type: z.enum(['gauge', 'counter']),
            /** Seed words (bytes, seconds, rows, %) or a UCUM unit. @default '1' */
            unit: z.string().default('1'),
            description: z.string().default(''),
            attributes: z
              .array(z.object({ column: z.string().min(1), name: labelName.optional() }).strict())
              .default([]),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Most tables reported per database, largest first; the rest are counted in `pgotel.tables.excluded`. @default 10000 */
    max_tables: z.number().int().min(0).default(10_000),
    /** Most indexes reported per database, largest first; the rest are counted in `pgotel.indexes.excluded`. @default 10000 */
    max_indexes: z.number().int().min(0).default(10_000),
    /** @default 0 */
    min_relation_size_bytes: z.number().int().min(0).default(0),
    exclude_schemas: z.array(z.string()).default([]),
    include_schemas: z.array(z.string()).default([]),
    /** @default 50 */
    max_statements: z.number().int().min(0).default(50),
    /** @default 60 */
    long_running_seconds: z.number().min(0).default(60),
  })
  .strict();

export const remoteWriteSchema = z
  .object({
    /** e.g. `http://prometheus:9090/api/v1/write` or the AMP workspace's `.../api/v1/remote_write`. */
    url: z.url({ protocol: /^https?$/ }),
    auth: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('none') }).strict(),
        z
          .object({
            type: z.literal('basic'),
            username: z.string().min(1),
            /** Inline password (local use) or a secret holding it. */
            password: z.string().min(1).optional(),
            password_secret_arn: z.string().min(1).optional(),
          })
          .strict(),
        z
          .object({
            type: z.literal('bearer'),
            token: z.string().min(1).optional(),
            token_secret_arn: z.string().min(1).optional(),
          })
          .strict(),
        z
          .object({ type: z.literal('sigv4'), region: z.string().min(1), service: z.string().default('aps') })
          .strict(),
      ])
      .default({ type: 'none' }),
    /** PEM CA bundle for an https endpoint with a private CA. */
    ca_file: z.string().min(1).optional(),
    /** @default 5000 (seed remote_write `queue_config.max_samples_per_send`) */
    max_samples_per_request: z.number().int().positive().default(5000),
    /** @default 1048576 (seed `max_batch_size_bytes`) */
    max_bytes_per_request: z.number().int().positive().default(1_048_576),
    /** Per-attempt HTTP timeout. @default 10000 */
    timeout_ms: z.number().int().positive().default(10_000),
    /** @default 5 */
    max_attempts: z.number().int().min(1).default(5),
  })
  .strict();

export const archiveSchema = z
  .object({
    /** `s3://bucket/prefix` or `file:///absolute/dir`. */
    url: z
      .string()
      .regex(/^(s3:\/\/[a-z0-9.-]{3,63}(\/.*)?|file:\/\/.+)$/, 'must be s3://bucket/prefix or file://DIR'),
    /**
     * Compression of archived data: `gzip` members or plain protobuf. @default 'none' for the CLI's archives,
     * 'gzip' for the deployed collector's stream (Firehose bills ingested bytes, rounded up to 5 KB per record)
     */
    compression: z.enum(['none', 'gzip']).optional(),
    /**
     * Deployed collector: how long the delivery stream gathers the fleet's records before it writes one S3 object
     * (60–900 s). Longer means fewer, larger objects; replay sees a run once its object is written. @default 300
     */
    buffer_seconds: z.number().int().min(60).max(900).optional(),
  })
  .strict();

/** The deployed schedule: a dispatcher every minute, each slot's starts spread over a few seconds. */
export const scheduleSchema = z
  .object({
    /** Run the dispatcher every minute. `false` deploys everything but the trigger (invoke by hand). @default true */
    enabled: z.boolean().default(true),
    /**
     * Starts of one 15-second slot spread over this many seconds (a stable offset per target), so a large fleet
     * does not start in the same second. @default 10
     */
    spread_seconds: z.number().int().min(0).max(14).default(10),
  })
  .strict();

/** How the collector Lambda is deployed (read by the CDK app only). */
export const lambdaSchema = z
  .object({
    /** Collector memory in MB. @default 256 */
    memory_mb: z.number().int().min(128).max(10_240).optional(),
    /** Collector timeout; by default derived from the slowest tier's statement timeout plus a flush margin. */
    timeout_seconds: z.number().int().min(3).max(900).optional(),
    /** CloudWatch Logs retention of the collector's log group. @default 30 */
    log_retention_days: z.number().int().positive().optional(),
    /**
     * Level of the functions' logs. At `info` every run logs its summary line (about 0.7 KB: $0.06 per target-month
     * at 15 s); at `warn` only runs with a problem do (down, failed queries or exports, state errors) — what a run
     * measured is in Prometheus anyway (`up`, `pgotel_*`). Lambda's own START/END/REPORT lines are never logged.
     * @default 'warn'
     */
    log_level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
    /** Run the collector in these (private) subnets, to reach databases without public endpoints. */
    vpc: z
      .object({
        vpc_id: z.string().regex(/^vpc-[0-9a-f]+$/, 'must be a VPC id like vpc-0abc123'),
        subnet_ids: z
          .array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be a subnet id like subnet-0abc123'))
          .min(1),
        security_group_ids: z
          .array(z.string().regex(/^sg-[0-9a-f]+$/, 'must be a security group id like sg-0abc123'))
          .min(1),
        /** The subnets' zones, in `subnet_ids` order. */
        availability_zones: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    /** `deployment.environment` resource attribute. @default 'production' */
    environment: z.string().min(1).default('production'),
    /** `service.name` resource attribute and Prometheus `job`. @default 'postgresql' */
    service_name: z.string().min(1).default('postgresql'),
    targets: z.array(targetSchema).min(1),
    queries: z
      .object({
        /** Built-in query names not to run. */
        disable: z.array(identifier).default([]),
        /** Per-query interval overrides in seconds, e.g. `{ index_stats: 600 }`. */
        intervals: z.record(identifier, z.number().int().positive()).default({}),
        limits: limitsSchema.default(limitsSchema.parse({})),
      })
      .strict()
      .default({ disable: [], intervals: {}, limits: limitsSchema.parse({}) }),
    custom_queries: z.array(customQuerySchema).default([]),
    remote_write: remoteWriteSchema.optional(),
    archive: archiveSchema.optional(),
    cardinality: z
      .object({
        /**
         * @default 100000 — the seed says 10,000, but every table and index is covered by default (up to 10,000 of
         * each per database), and a per-index metric of a 6,000-index database already has 12,000 series
         */
        max_series_per_metric: z.number().int().positive().default(100_000),
        /** @default 3600 */
        window_seconds: z.number().int().positive().default(3600),
      })
      .strict()
      .optional(),
    lambda: lambdaSchema.optional(),
    schedule: scheduleSchema.prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.targets.forEach((target, i) => {
      if (seen.has(target.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'name'],
          message: `duplicate target name "${target.name}"`,
        });
      }
      seen.add(target.name);
    });
  });

export type PgotelConfig = z.output<typeof configSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type CustomQueryConfig = z.output<typeof customQuerySchema>;
export type RemoteWriteConfig = z.output<typeof remoteWriteSchema>;
export type ArchiveConfig = z.output<typeof archiveSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type TiersConfig = z.output<typeof tiersSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type LambdaConfig = z.output<typeof lambdaSchema>;
