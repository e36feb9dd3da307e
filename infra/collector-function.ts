import { Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { type AmpWorkspace, secretResource } from './access.ts';
import type { ArchiveStream } from './archive-stream.ts';
import { collectorTimeout, DEFAULT_MEMORY_MB, lambdaSettingsOf } from './lambda-settings.ts';
import { PgotelFunction } from './pgotel-function.ts';

/**
 * DynamoDB calls of the collector's state adapters (`shared/state/dynamodb-*.ts`): point and batch reads and
 * writes (a batch write also deletes). Never Scan or Query: every key is known.
 */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** Props of {@link CollectorFunction}. */
export interface CollectorFunctionProps {
  /** The validated config; bundled as `pgotel.config.json` and the source of timeout, memory, logs and VPC. */
  readonly config: PgotelConfig;
}

/**
 * The collector Lambda: one invocation collects one target. Memory, timeout and VPC come from the config's
 * `lambda` section; everything else is {@link PgotelFunction}'s.
 */
export class CollectorFunction extends PgotelFunction {
  constructor(scope: Construct, id: string, props: CollectorFunctionProps) {
    const settings = lambdaSettingsOf(props.config);
    super(scope, id, {
      config: props.config,
      handlerDir: 'collector',
      roleDescription: 'pgotel collector: reads target secrets, writes state, archive and remote-write',
      memorySize: settings.memory_mb ?? DEFAULT_MEMORY_MB,
      timeout: collectorTimeout(props.config),
      vpc: settings.vpc,
    });
  }

  /** Lets the collector use the state table and names it in `PGOTEL_STATE_TABLE`. */
  bindStateTable(table: Table): void {
    table.grant(this, ...STATE_TABLE_ACTIONS);
    this.addEnvironment('PGOTEL_STATE_TABLE', table.tableName);
  }

  /**
   * Lets the collector put records into the archive stream (nothing else: it never reads the archive, replay uses
   * the operator's credentials) and names it in `PGOTEL_ARCHIVE_STREAM`.
   */
  bindArchiveStream(stream: ArchiveStream): void {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['firehose:PutRecordBatch'], resources: [stream.streamArn] }),
    );
    this.addEnvironment('PGOTEL_ARCHIVE_STREAM', stream.streamName);
  }

  /** Lets the collector read exactly these secrets (target credentials, remote-write password or token). */
  bindSecrets(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const stack = Stack.of(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: ids.map((id) => secretResource(id, stack.partition, stack.region, stack.account)),
      }),
    );
  }

  /** Lets the collector remote-write to one Amazon Managed Prometheus workspace (SigV4). */
  bindRemoteWrite(workspace: AmpWorkspace): void {
    const stack = Stack.of(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['aps:RemoteWrite'],
        resources: [
          `arn:${stack.partition}:aps:${workspace.region}:${stack.account}:workspace/${workspace.workspaceId}`,
        ],
      }),
    );
  }
}
