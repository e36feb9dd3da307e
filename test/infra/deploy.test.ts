import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  InvokeCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigYaml } from '../../shared/config/load.ts';
import { type AwsEmulator, LAMBDA_NODE_BIN, startAws } from '../helpers/aws.ts';
import { CdkCommandError, type DeployedStack, deployStack, destroyStack } from '../helpers/deploy.ts';
import { freePort } from '../helpers/ports.ts';
import { descendantPids, makeTmpRoot, releaseTmpRoot } from '../helpers/processes.ts';

/** The stack's resources of one CloudFormation type, as the emulator's CloudFormation lists them. */
async function stackResources(aws: AwsEmulator, stackName: string, type: string) {
  const cfn = new CloudFormationClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
  });
  try {
    const { StackResources: resources = [] } = await cfn.send(
      new DescribeStackResourcesCommand({ StackName: stackName }),
    );
    return resources.filter((r) => r.ResourceType === type);
  } finally {
    cfn.destroy();
  }
}

function executable(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

describe('deployStack (cdk bootstrap + deploy into the emulator)', () => {
  const target = 'orders';
  let aws: AwsEmulator;
  let lambda: LambdaClient;
  let dir: string;
  let configPath: string;
  let deployed: DeployedStack;

  beforeAll(async () => {
    aws = await startAws();
    const clientOptions = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
    lambda = new LambdaClient(clientOptions);
    const secrets = new SecretsManagerClient(clientOptions);
    // A database that refuses connections: the collector must answer with up = 0, not fail.
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: `pgotel/${target}`,
        SecretString: JSON.stringify({
          engine: 'postgres',
          host: '127.0.0.1',
          port: await freePort(),
          username: 'monitor',
          password: 'secret',
          dbname: 'postgres',
        }),
      }),
    );
    secrets.destroy();
    dir = await makeTmpRoot('deploytest');
    configPath = join(dir, 'pgotel.config.yaml');
    // No every-minute rule: the tests invoke the collector by hand and a dispatcher run would interleave.
    await writeFile(
      configPath,
      `schedule: { enabled: false }\ntargets:\n  - name: ${target}\n    secret_arn: ${secret.ARN}\n    tls: { mode: disable }\n    connect_timeout_ms: 1000\n`,
    );
    deployed = await deployStack({ aws, configPath });
    console.info(
      `bootstrap ${Math.round(deployed.bootstrapMs ?? 0)} ms, deploy ${Math.round(deployed.deployMs)} ms`,
    );
  }, 300_000);

  afterAll(async () => {
    lambda?.destroy();
    await aws?.stop();
    if (dir !== undefined) {
      await rm(dir, { recursive: true, force: true });
      releaseTmpRoot(dir);
    }
  });

  it('returns every stack output and both timings', () => {
    // Assess
    expect(deployed.stackName).toBe('Pgotel');
    expect(deployed.bootstrapMs).toBeGreaterThan(0);
    expect(deployed.deployMs).toBeGreaterThan(0);
    expect(deployed.outputs.ArchiveUrl).toMatch(/^s3:\/\/[a-z0-9.-]+\/pgotel$/);
    expect(deployed.outputs.ArchiveStreamName).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(deployed.outputs.CollectorFunctionArn).toContain(deployed.outputs.CollectorFunctionName);
    expect(deployed.outputs.CollectorQueueUrl).toMatch(/^https?:\/\//);
    expect(deployed.outputs.DeadLetterQueueUrl).toMatch(/^https?:\/\//);
    expect(deployed.outputs.StateTableName).not.toBe('');
    expect(deployed.outputs.DispatcherFunctionName).not.toBe(deployed.outputs.CollectorFunctionName);
    expect(deployed.outputs.SlotQueueUrl).toMatch(/^https?:\/\//);
    expect(deployed.outputs.SlotDeadLetterQueueUrl).toMatch(/^https?:\/\//);
  });

  it('bundles ESM handlers (collector, dispatcher) with the parsed config next to them', () => {
    // Prepare
    const assets = readdirSync(deployed.assemblyDir).filter((name) => name.startsWith('asset.'));
    const bundles = assets
      .map((name) => join(deployed.assemblyDir, name))
      .filter((path) => readdirSync(path).includes('index.mjs'));
    const parsed = JSON.parse(JSON.stringify(parseConfigYaml(readFileSync(configPath, 'utf8'))));

    // Assess
    expect(bundles).toHaveLength(2);
    for (const bundle of bundles) {
      const sizes = Object.fromEntries(readdirSync(bundle).map((f) => [f, statSync(join(bundle, f)).size]));
      console.info(`function bundle: ${JSON.stringify(sizes)}`);
      expect(Object.keys(sizes).sort()).toEqual(['index.mjs', 'index.mjs.map', 'pgotel.config.json']);
      expect(JSON.parse(readFileSync(join(bundle, 'pgotel.config.json'), 'utf8'))).toEqual(parsed);
    }
  });

  it('sets the environment the handler reads', async () => {
    // Act
    const config = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: deployed.outputs.CollectorFunctionName }),
    );

    // Assess
    expect(config.Environment?.Variables).toMatchObject({
      PGOTEL_STATE_TABLE: deployed.outputs.StateTableName,
      PGOTEL_ARCHIVE_STREAM: deployed.outputs.ArchiveStreamName,
      POWERTOOLS_SERVICE_NAME: 'pgotel-collector',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      NODE_OPTIONS: '--enable-source-maps --max-old-space-size=192 --max-semi-space-size=2',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });

  it('sets the dispatcher environment, size and timeout', async () => {
    // Act
    const config = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: deployed.outputs.DispatcherFunctionName }),
    );

    // Assess
    expect(config).toMatchObject({ MemorySize: 256, Timeout: 60 });
    expect(config.Environment?.Variables).toMatchObject({
      PGOTEL_SLOT_QUEUE_URL: deployed.outputs.SlotQueueUrl,
      PGOTEL_COLLECTOR_FUNCTION: deployed.outputs.CollectorFunctionName,
      POWERTOOLS_SERVICE_NAME: 'pgotel-dispatcher',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      NODE_OPTIONS: '--enable-source-maps --max-old-space-size=192 --max-semi-space-size=2',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });

  it('feeds the dispatcher from the slot queue, and has no rule while the schedule is off', async () => {
    // Prepare
    const sqs = new SQSClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });

    try {
      // Act
      const [mappings, slots, dlq, rules] = await Promise.all([
        lambda.send(
          new ListEventSourceMappingsCommand({ FunctionName: deployed.outputs.DispatcherFunctionName }),
        ),
        sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: deployed.outputs.SlotQueueUrl, AttributeNames: ['All'] }),
        ),
        sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: deployed.outputs.SlotDeadLetterQueueUrl,
            AttributeNames: ['All'],
          }),
        ),
        stackResources(aws, deployed.stackName, 'AWS::Events::Rule'),
      ]);

      // Assess
      expect(mappings.EventSourceMappings).toEqual([
        expect.objectContaining({
          EventSourceArn: slots.Attributes?.QueueArn,
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
      ]);
      expect(slots.Attributes?.VisibilityTimeout).toBe('360');
      expect(JSON.parse(slots.Attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: dlq.Attributes?.QueueArn,
        maxReceiveCount: 3,
      });
      expect(rules).toEqual([]);
    } finally {
      sqs.destroy();
    }
  });

  it('wires the queue, the dead letters and the state table as the template says', async () => {
    // Prepare
    const options = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
    const sqs = new SQSClient(options);
    const dynamodb = new DynamoDBClient(options);
    const { CollectorFunctionName: name, StateTableName: table } = deployed.outputs;

    try {
      // Act
      const [mappings, invokeConfig, queue, dlq, ttl] = await Promise.all([
        lambda.send(new ListEventSourceMappingsCommand({ FunctionName: name })),
        // CloudFormation attaches it to $LATEST; ministack stores it under that qualifier only.
        lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: name, Qualifier: '$LATEST' })),
        sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: deployed.outputs.CollectorQueueUrl,
            AttributeNames: ['All'],
          }),
        ),
        sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: deployed.outputs.DeadLetterQueueUrl,
            AttributeNames: ['All'],
          }),
        ),
        dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table })),
      ]);

      // Assess
      expect(mappings.EventSourceMappings).toEqual([
        expect.objectContaining({
          EventSourceArn: queue.Attributes?.QueueArn,
          BatchSize: 1,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
      ]);
      expect(invokeConfig).toMatchObject({
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: expect.stringMatching(/^arn:aws:sqs:/) } },
      });
      expect(JSON.parse(queue.Attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: dlq.Attributes?.QueueArn,
        maxReceiveCount: 3,
      });
      // ministack's CloudFormation ignores the table's TTL setting; deployStack turns it on as AWS would.
      expect(ttl.TimeToLiveDescription).toMatchObject({
        AttributeName: 'expires_at',
        TimeToLiveStatus: 'ENABLED',
      });
    } finally {
      sqs.destroy();
      dynamodb.destroy();
    }
  });

  it('runs the deployed collector on Node 22', async () => {
    // Prepare
    const request = { target, tiers: ['critical'] };

    // Act
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: deployed.outputs.CollectorFunctionName,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(request)),
      }),
    );
    const payload = JSON.parse(Buffer.from(result.Payload ?? []).toString('utf8'));

    // Assess
    expect(result.FunctionError, JSON.stringify(payload)).toBeUndefined();
    // The database refuses connections: the collector reports the target down and still archives it.
    expect(payload).toMatchObject({ target, tiers: ['critical'], up: 0, archive: { ok: true } });
    if (aws.pid !== undefined) {
      // The warm function keeps its node process under ministack: it must be the Node 22 binary.
      const nodes = descendantPids(aws.pid)
        .map(executable)
        .filter((exe) => exe?.endsWith('/node'));
      expect(nodes.length).toBeGreaterThan(0);
      expect(new Set(nodes)).toEqual(new Set([realpathSync(LAMBDA_NODE_BIN)]));
    }
    expect(execFileSync(LAMBDA_NODE_BIN, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./);
  });

  it('updates the stack when deployed again with another config, adding the rule when the schedule is on', async () => {
    // Prepare
    const yaml = readFileSync(configPath, 'utf8').replace(
      'schedule: { enabled: false }',
      'schedule: { enabled: true }',
    );
    await writeFile(configPath, `${yaml}    max_connections: 1\n`);

    // Act
    const again = await deployStack({ aws, configPath });
    console.info(`update ${Math.round(again.deployMs)} ms`);

    // Assess
    expect(again.bootstrapMs).toBeUndefined();
    expect(again.outputs.CollectorFunctionName).toBe(deployed.outputs.CollectorFunctionName);
    // The rule first fires 60 s after creation: usually after the destroy below, and harmless before it.
    const rules = await stackResources(aws, again.stackName, 'AWS::Events::Rule');
    expect(rules.map((r) => r.ResourceStatus)).toEqual([expect.stringMatching(/COMPLETE$/)]);
  });

  it('fails with the tail of cdk output naming the bad config field', async () => {
    // Prepare
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'targets: [{ name: x, dsn: "postgres://x", tls: { mode: maybe } }]\n');

    // Act
    const deploying = deployStack({ aws, configPath: broken, stackName: 'Broken' });

    // Assess
    await expect(deploying).rejects.toThrow(CdkCommandError);
    await expect(deploying).rejects.toThrow(/targets\[0\]\.tls\.mode/);
  });

  it('destroys the stack', async () => {
    // Act
    const started = performance.now();
    await destroyStack(aws, deployed.stackName);
    console.info(`destroy ${Math.round(performance.now() - started)} ms`);

    // Assess
    await expect(
      lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: deployed.outputs.CollectorFunctionName }),
      ),
    ).rejects.toThrow(/not found/i);
  });
});
