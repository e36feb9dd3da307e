import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StreamArchive } from '../../shared/archive/archive-run.ts';
import { createFirehoseClient, FirehoseRecordStream } from '../../shared/archive/firehose-stream.ts';
import { SessionKeeper } from '../../shared/collect/session-keeper.ts';
import { SizeMemory } from '../../shared/collect/size-memory.ts';
import {
  type ConnectionSource,
  connectionSource,
  planTargets,
  remoteWriteDestination,
  type TargetPlan,
} from '../../shared/config/runtime.ts';
import type { ExportDestinations } from '../../shared/export/export-run.ts';
import { createCaFetch } from '../../shared/export/remote-write.ts';
import { createSigV4Signer, type RequestSigner } from '../../shared/export/sigv4.ts';
import type { RunPorts } from '../../shared/run/run-collection.ts';
import { createSecretsManagerClient, SecretsManagerSource } from '../../shared/secrets/secrets-manager.ts';
import { DynamoDbCardinalityStore } from '../../shared/state/dynamodb-cardinality.ts';
import { DynamoDbSeriesStateStore } from '../../shared/state/dynamodb-series-state.ts';
import { WarmSeriesStateStore } from '../../shared/state/warm-series-state.ts';
import { readDeployedConfig, requiredEnv } from '../deployed-config.ts';

/**
 * What one collector container builds once, at cold start: the deployed config (validated at `cdk synth`, so
 * no schema library is loaded here), one plan per target, the AWS clients and the adapters over them.
 */
export interface Container {
  readonly targets: ReadonlySet<string>;
  plan(target: string): TargetPlan;
  /** The run's ports; remote-write secrets are resolved (from the warm cache) per run. */
  ports(target: string): Promise<{ ports: RunPorts; setupErrors: string[] }>;
}

/** How long the collector serves a target's credentials from its cache, seconds. */
export const TARGET_SECRET_CACHE_SECONDS = 3_600;

/** Builds the container from the environment: `PGOTEL_STATE_TABLE`, `PGOTEL_ARCHIVE_STREAM`, `AWS_REGION`. */
export function createContainer(env: NodeJS.ProcessEnv, moduleUrl: string): Container {
  const config = readDeployedConfig(env, moduleUrl);
  const table = requiredEnv(env, 'PGOTEL_STATE_TABLE');
  const archiveStream = env.PGOTEL_ARCHIVE_STREAM;
  const region = env.AWS_REGION ?? 'us-east-1';

  const secretsClient = createSecretsManagerClient({ region });
  // Target credentials are cached for an hour: a rotated password is read again at once when PostgreSQL refuses
  // the cached one. Remote-write credentials have no such signal, so their cache stays short (5 minutes).
  const targetSecrets = new SecretsManagerSource(secretsClient, {
    maxAgeSeconds: TARGET_SECRET_CACHE_SECONDS,
  });
  const secrets = new SecretsManagerSource(secretsClient);
  const dynamodb = new DynamoDBClient({
    region,
    maxAttempts: 3,
    requestHandler: { requestTimeout: 3_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  });
  // Held by the warm container between runs, written through at most every 10 minutes (warm-series-state.ts).
  const seriesState = new WarmSeriesStateStore(new DynamoDbSeriesStateStore(dynamodb, table));
  const cardinality = new DynamoDbCardinalityStore(dynamodb, table);
  const archive: StreamArchive | undefined =
    archiveStream === undefined || archiveStream === ''
      ? undefined
      : {
          stream: new FirehoseRecordStream(createFirehoseClient({ region }), archiveStream),
          compression: config.archive?.compression ?? 'gzip',
        };
  const rw = config.remote_write;
  const caFetch = rw?.ca_file === undefined ? undefined : createCaFetch(readFileSync(rw.ca_file, 'utf8'));
  let signer: Promise<RequestSigner> | undefined;
  if (rw?.auth.type === 'sigv4')
    signer = createSigV4Signer({ region: rw.auth.region, service: rw.auth.service });

  const plans = planTargets(config);
  // Sizes of unchanged relations are not measured again while the container is warm (shared/collect/size-memory.ts).
  const sizes = new SizeMemory();
  // Sessions of a target's run wait, open, for its next run on this container (shared/collect/session-keeper.ts).
  const sessions = new SessionKeeper();
  const connections = new Map<string, ConnectionSource>();
  const planOf = (target: string): TargetPlan => {
    const plan = plans.get(target);
    if (plan === undefined) throw new Error(`no target named ${target}`);
    return plan;
  };

  return {
    targets: new Set(plans.keys()),
    plan: planOf,
    async ports(target) {
      const plan = planOf(target);
      let connection = connections.get(target);
      if (connection === undefined) {
        connection = connectionSource(plan.config, { secrets: targetSecrets });
        connections.set(target, connection);
      }
      const setupErrors: string[] = [];
      let remoteWrite: ExportDestinations['remoteWrite'];
      if (rw !== undefined) {
        try {
          remoteWrite = await remoteWriteDestination(rw, {
            secrets,
            ...(caFetch === undefined ? {} : { fetch: caFetch.fetch }),
            ...(signer === undefined ? {} : { signer: await signer }),
          });
        } catch (error) {
          setupErrors.push(`remote-write: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return {
        ports: {
          connection,
          destinations: {
            ...(remoteWrite === undefined ? {} : { remoteWrite }),
            ...(archive === undefined ? {} : { archive }),
          },
          seriesState,
          cardinality,
          sizes,
          sessions,
        },
        setupErrors,
      };
    },
  };
}
