import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { LambdaSettings } from '../../infra/lambda-settings.ts';
import { PgotelStack } from '../../infra/pgotel-stack.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { PgotelConfig } from '../../shared/config/schema.ts';

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pgotel/orders-AbCdEf';
const PARTIAL_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pgotel/billing';
const AMP_URL =
  'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd-12ab-34cd-56ef-1234567890ab/api/v1/remote_write';
const ONE_TARGET = `targets: [{ name: orders, secret_arn: "${SECRET}" }]`;

/** A validated config from YAML, plus a `lambda` section given as an object. */
function config(yaml: string, lambda?: LambdaSettings): PgotelConfig {
  const raw = parse(yaml) as Record<string, unknown>;
  return parseConfig(lambda === undefined ? raw : { ...raw, lambda });
}

/**
 * Synthesizes a stack without bundling the handler (`aws:cdk:bundling-stacks`): the template does not depend
 * on the handler's code, and a stack test must not fail because the handler is mid-edit.
 */
function synth(cfg: PgotelConfig) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PgotelStack(app, 'Test', { config: cfg });
  return { app, stack, template: Template.fromStack(stack) };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** The statements of the policies attached to the role whose logical id starts with `role`. */
function roleStatements(template: Template, role: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(role)),
  );
  return policies.flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]) ?? []);
}

function collectorStatements(template: Template): Statement[] {
  return roleStatements(template, 'CollectorRole');
}

function statementsFor(template: Template, action: string): Statement[] {
  return collectorStatements(template).filter((s) => [s.Action].flat().includes(action));
}

/** The properties of the function whose logical id starts with `prefix` (`Collector` or `Dispatcher`). */
function functionProps(template: Template, prefix = 'Collector'): Record<string, unknown> {
  const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  return fn?.[1].Properties ?? {};
}

describe('PgotelStack', () => {
  describe('collector function', () => {
    it('runs Node.js 24 on ARM64 with 256 MB and a timeout from the slowest default tier', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      template.resourceCountIs('AWS::Lambda::Function', 2);
      expect(functionProps(template)).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 256,
        // historical 60 s + connect 5 s + 30 s flush margin
        Timeout: 95,
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/^CollectorLogs/) } },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    it('derives the timeout from enabled tiers only, their overrides and the connect timeout', () => {
      // Prepare
      const yaml = `targets:
  - name: a
    secret_arn: "${SECRET}"
    connect_timeout_ms: 2000
    tiers: { historical: { enabled: false }, standard: { statement_timeout_ms: 45000 } }
  - name: b
    dsn: postgres://x
    tiers: { historical: { enabled: false }, standard: { enabled: false } }`;

      // Act
      const { template } = synth(config(yaml));

      // Assess
      expect(functionProps(template).Timeout).toBe(2 + 45 + 30);
    });

    it('caps the derived timeout at 900 s and takes memory, timeout and retention from lambda settings', () => {
      // Prepare
      const slow = `targets: [{ name: a, dsn: "postgres://x", tiers: { historical: { statement_timeout_ms: 3600000 } } }]`;

      // Act
      const capped = functionProps(synth(config(slow)).template);
      const custom = synth(
        config(ONE_TARGET, { memory_mb: 512, timeout_seconds: 120, log_retention_days: 7 }),
      ).template;

      // Assess
      expect(capped.Timeout).toBe(900);
      expect(functionProps(custom)).toMatchObject({ MemorySize: 512, Timeout: 120 });
      // The dispatcher's own size and timeout do not follow the collector's; its log retention does.
      expect(functionProps(custom, 'Dispatcher')).toMatchObject({ MemorySize: 256, Timeout: 60 });
      const retentions = Object.values(custom.findResources('AWS::Logs::LogGroup')).map(
        (g) => g.Properties.RetentionInDays,
      );
      expect(retentions).toEqual([7, 7]);
    });

    it('logs JSON at warn without the platform lines, and caps the heap at three quarters of the memory', () => {
      // Act
      const defaults = synth(config(ONE_TARGET)).template;
      const tuned = synth(config(ONE_TARGET, { memory_mb: 512, log_level: 'info' })).template;

      // Assess
      for (const fn of ['Collector', 'Dispatcher'])
        expect(functionProps(defaults, fn).LoggingConfig).toStrictEqual({
          LogFormat: 'JSON',
          ApplicationLogLevel: 'WARN',
          SystemLogLevel: 'WARN',
          LogGroup: { Ref: expect.stringMatching(new RegExp(`^${fn}Logs`)) },
        });
      const collector = functionProps(tuned) as { Environment: { Variables: Record<string, unknown> } };
      expect(collector.Environment.Variables).toMatchObject({
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps --max-old-space-size=384 --max-semi-space-size=2',
        MALLOC_MMAP_THRESHOLD_: '131072',
      });
      expect((functionProps(tuned) as { LoggingConfig: unknown }).LoggingConfig).toMatchObject({
        ApplicationLogLevel: 'INFO',
      });
    });

    it('rejects a log retention CloudWatch does not offer, naming the field', () => {
      // Act / Assess
      expect(() => synth(config(ONE_TARGET, { log_retention_days: 10 }))).toThrow(
        /lambda\.log_retention_days/,
      );
    });

    it('sets the environment the handler reads', () => {
      // Act
      const own = functionProps(synth(config(ONE_TARGET)).template);
      const external = functionProps(
        synth(config(`${ONE_TARGET}\narchive: { url: "s3://existing-bucket/pg/" }`)).template,
      );

      // Assess
      const common = {
        PGOTEL_STATE_TABLE: { Ref: Match.stringLikeRegexp('^StateTable') },
        POWERTOOLS_SERVICE_NAME: 'pgotel-collector',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        NODE_OPTIONS: '--enable-source-maps --max-old-space-size=192 --max-semi-space-size=2',
        MALLOC_MMAP_THRESHOLD_: '131072',
      };
      const stream = { PGOTEL_ARCHIVE_STREAM: { Ref: expect.stringMatching(/^ArchiveStream/) } };
      for (const fn of [own, external])
        expect(fn.Environment).toEqual({
          Variables: {
            ...common,
            PGOTEL_STATE_TABLE: { Ref: expect.stringMatching(/^StateTable/) },
            ...stream,
          },
        });
    });

    it('joins the configured VPC without creating or changing security groups', () => {
      // Prepare
      const vpc = {
        vpc_id: 'vpc-0123456789abcdef0',
        subnet_ids: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        security_group_ids: ['sg-0123456789abcdef0'],
      };

      // Act
      const { template } = synth(config(ONE_TARGET, { vpc }));
      const zoned = synth(
        config(ONE_TARGET, { vpc: { ...vpc, availability_zones: ['us-east-1a', 'us-east-1b'] } }),
      );

      // Assess
      for (const t of [template, zoned.template]) {
        expect(functionProps(t).VpcConfig).toEqual({
          SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
          SecurityGroupIds: ['sg-0123456789abcdef0'],
        });
        // The dispatcher reaches AWS APIs only, never a database.
        expect(functionProps(t, 'Dispatcher').VpcConfig).toBeUndefined();
        t.resourceCountIs('AWS::EC2::SecurityGroup', 0);
        t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
        t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
      }
      template.hasResourceProperties('AWS::IAM::Role', {
        ManagedPolicyArns: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
              ],
            ],
          },
        ],
      });
    });

    it('has no VPC and no managed policy without lambda.vpc', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      expect(functionProps(template).VpcConfig).toBeUndefined();
      template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    });

    it('bundles the parsed config as pgotel.config.json next to an ESM handler', () => {
      // Prepare
      const cfg = config(ONE_TARGET);
      const other = config(`${ONE_TARGET}\nenvironment: staging`);

      // Act
      const app = new App();
      const stacks = [cfg, other].map((c, i) => new PgotelStack(app, `Stack${i}`, { config: c }));
      const [first, second] = stacks.map((stack) => Template.fromStack(stack));
      const keyOf = (t: Template, fn: string) =>
        (functionProps(t, fn).Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');

      // Assess
      if (first === undefined || second === undefined) throw new Error('two stacks expected');
      for (const fn of ['Collector', 'Dispatcher']) {
        const firstHash = keyOf(first, fn);
        const bundle = join(app.outdir, `asset.${firstHash}`);
        expect(readdirSync(bundle).sort()).toEqual(['index.mjs', 'index.mjs.map', 'pgotel.config.json']);
        expect(JSON.parse(readFileSync(join(bundle, 'pgotel.config.json'), 'utf8'))).toEqual(
          JSON.parse(JSON.stringify(cfg)),
        );
        // A config change is a code change: a cached bundle with the old config would deploy silently.
        expect(keyOf(second, fn)).not.toBe(firstHash);
      }
      expect(keyOf(first, 'Dispatcher')).not.toBe(keyOf(first, 'Collector'));
    }, 60_000);
  });

  describe('state table', () => {
    it('is on-demand, TTL-swept, point-in-time recoverable and encrypted', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      template.resourceCountIs('AWS::DynamoDB::Table', 1);
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        Properties: {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        },
      });
    });

    it('grants point and batch reads and writes on the table only, never Scan or Query', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      const dynamo = collectorStatements(template).filter((s) =>
        [s.Action].flat().some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:PutItem',
            'dynamodb:DeleteItem',
            'dynamodb:BatchWriteItem',
          ],
          Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^StateTable/), 'Arn'] }],
        },
      ]);
    });
  });

  describe('archive', () => {
    it('creates a private, encrypted, TLS-only bucket when the config names none', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      template.resourceCountIs('AWS::S3::Bucket', 1);
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('lets the collector only put records into the archive stream, and the stream only write under the prefix', () => {
      // Act
      const own = synth(config(ONE_TARGET)).template;
      const external = synth(config(`${ONE_TARGET}\narchive: { url: "s3://existing-bucket/pg" }`)).template;
      const root = synth(config(`${ONE_TARGET}\narchive: { url: "s3://existing-bucket" }`)).template;

      // Assess: the collector never touches S3
      for (const t of [own, external]) {
        expect(
          collectorStatements(t).filter((s) => [s.Action].flat().some((a) => /^(s3|firehose):/.test(a))),
        ).toEqual([
          {
            Effect: 'Allow',
            Action: 'firehose:PutRecordBatch',
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ArchiveStream/), 'Arn'] },
          },
        ]);
      }
      const writes = (t: Template) =>
        roleStatements(t, 'ArchiveStreamDeliveryRole').find((s) =>
          [s.Action].flat().includes('s3:PutObject'),
        );
      expect(writes(own)).toEqual({
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^ArchiveBucket/), 'Arn'] }, '/pgotel/*']],
        },
      });
      expect(writes(external)?.Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::existing-bucket/pg/*']],
      });
      expect(writes(root)?.Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::existing-bucket/*']],
      });
      expect(external.findResources('AWS::S3::Bucket')).toEqual({});
    });

    it('streams into the archive partitions, one object per buffer interval, records kept as they are', () => {
      // Act
      const own = synth(config(ONE_TARGET)).template;
      const tuned = synth(
        config(
          `${ONE_TARGET}\narchive: { url: "s3://existing-bucket/pg", compression: none, buffer_seconds: 900 }`,
        ),
      ).template;

      // Assess
      const destination = (t: Template) =>
        Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'))[0]?.Properties
          ?.ExtendedS3DestinationConfiguration;
      const partition =
        'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/minute=!{timestamp:mm}/';
      expect(destination(own)).toMatchObject({
        Prefix: `pgotel/${partition}`,
        ErrorOutputPrefix: `pgotel/errors/!{firehose:error-output-type}/${partition}`,
        FileExtension: '.binpb.gz',
        CompressionFormat: 'UNCOMPRESSED',
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
      });
      expect(destination(tuned)).toMatchObject({
        Prefix: `pg/${partition}`,
        FileExtension: '.binpb',
        BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 64 },
      });
    });

    it('refuses a file:// archive, which would vanish with the Lambda', () => {
      // Act / Assess
      expect(() => synth(config(`${ONE_TARGET}\narchive: { url: "file:///var/lib/pgotel" }`))).toThrow(
        /archive\.url/,
      );
    });
  });

  describe('secrets and remote-write', () => {
    it('grants GetSecretValue on exactly the configured secrets', () => {
      // Prepare
      const yaml = `targets:
  - { name: a, secret_arn: "${SECRET}" }
  - { name: b, secret_arn: "${PARTIAL_SECRET}" }
  - { name: c, secret_arn: "${SECRET}" }
  - { name: d, dsn: "postgres://x" }
remote_write:
  url: https://prom.example.com/api/v1/write
  auth: { type: basic, username: u, password_secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rw-Zz9Yy8" }`;

      // Act
      const { template } = synth(config(yaml));

      // Assess
      expect(statementsFor(template, 'secretsmanager:GetSecretValue')).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [
            SECRET,
            `${PARTIAL_SECRET}-??????`,
            'arn:aws:secretsmanager:us-east-1:123456789012:secret:rw-Zz9Yy8',
          ],
        },
      ]);
    });

    it('names no secret and no wildcard resource when targets use DSNs', () => {
      // Act
      const { template } = synth(config('targets: [{ name: a, dsn: "postgres://x" }]'));

      // Assess
      expect(statementsFor(template, 'secretsmanager:GetSecretValue')).toEqual([]);
      for (const statement of collectorStatements(template)) {
        expect([statement.Resource].flat()).not.toContain('*');
      }
    });

    it('grants aps:RemoteWrite on the workspace of a SigV4 URL, and only with SigV4', () => {
      // Act
      const sigv4 = synth(
        config(
          `${ONE_TARGET}\nremote_write: { url: "${AMP_URL}", auth: { type: sigv4, region: eu-west-1 } }`,
        ),
      );
      const bearer = synth(
        config(
          `${ONE_TARGET}\nremote_write: { url: "${AMP_URL}", auth: { type: bearer, token_secret_arn: "${SECRET}" } }`,
        ),
      );

      // Assess
      expect(statementsFor(sigv4.template, 'aps:RemoteWrite')).toEqual([
        {
          Effect: 'Allow',
          Action: 'aps:RemoteWrite',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':aps:eu-west-1:',
                { Ref: 'AWS::AccountId' },
                ':workspace/ws-1234abcd-12ab-34cd-56ef-1234567890ab',
              ],
            ],
          },
        },
      ]);
      expect(statementsFor(bearer.template, 'aps:RemoteWrite')).toEqual([]);
    });

    it('refuses SigV4 for a URL that is not an AMP workspace', () => {
      // Act / Assess
      expect(() =>
        synth(
          config(
            `${ONE_TARGET}\nremote_write: { url: "https://prom.example.com/api/v1/write", auth: { type: sigv4, region: eu-west-1 } }`,
          ),
        ),
      ).toThrow(/remote_write\.url/);
    });
  });

  describe('dispatcher', () => {
    it('runs like the collector, with 256 MB, 60 s and its own log group', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      expect(functionProps(template, 'Dispatcher')).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 256,
        Timeout: 60,
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/^DispatcherLogs/) } },
      });
      template.resourceCountIs('AWS::Logs::LogGroup', 2);
    });

    it('sets the environment the handler reads', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      expect(functionProps(template, 'Dispatcher').Environment).toEqual({
        Variables: {
          PGOTEL_SLOT_QUEUE_URL: { Ref: expect.stringMatching(/^DispatchSlots[0-9A-F]{8}$/) },
          PGOTEL_COLLECTOR_FUNCTION: { Ref: expect.stringMatching(/^Collector[0-9A-F]{8}$/) },
          POWERTOOLS_SERVICE_NAME: 'pgotel-dispatcher',
          POWERTOOLS_LOG_LEVEL: 'WARN',
          NODE_OPTIONS: '--enable-source-maps --max-old-space-size=192 --max-semi-space-size=2',
          MALLOC_MMAP_THRESHOLD_: '131072',
        },
      });
    });

    it('runs every minute from an EventBridge rule that retries twice', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      template.resourceCountIs('AWS::Events::Rule', 1);
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Dispatcher[0-9A-F]{8}$'), 'Arn'] },
            Id: Match.anyValue(),
            RetryPolicy: { MaximumRetryAttempts: 2 },
          },
        ],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Dispatcher[0-9A-F]{8}$'), 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatchEveryMinute'), 'Arn'] },
      });
    });

    it('has no rule when schedule.enabled is false, and still the function and its slot queue', () => {
      // Act
      const { template } = synth(config(`${ONE_TARGET}\nschedule: { enabled: false }`));

      // Assess
      template.resourceCountIs('AWS::Events::Rule', 0);
      template.resourceCountIs('AWS::Lambda::Permission', 0);
      expect(functionProps(template, 'Dispatcher')).not.toEqual({});
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatchSlots'), 'Arn'] },
      });
    });

    it('consumes the slot queue ten at a time, without a batching window, reporting partial failures', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('^Dispatcher[0-9A-F]{8}$') },
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatchSlots'), 'Arn'] },
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: Match.absent(),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        // six times the dispatcher's 60 s timeout
        VisibilityTimeout: 360,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatchSlotDeadLetter'), 'Arn'] },
          maxReceiveCount: 3,
        },
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: Match.stringLikeRegexp('^DispatchSlots[0-9A-F]{8}$') }],
        PolicyDocument: {
          Statement: [
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ],
        },
      });
    });

    it('may invoke exactly the collector, send to exactly the slot queue and consume only that queue', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      const slots = { 'Fn::GetAtt': [expect.stringMatching(/^DispatchSlots[0-9A-F]{8}$/), 'Arn'] };
      expect(roleStatements(template, 'DispatcherRole')).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DispatcherLogs/), 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: [
            'sqs:ReceiveMessage',
            'sqs:ChangeMessageVisibility',
            'sqs:GetQueueUrl',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
          ],
          Resource: slots,
        },
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: slots,
        },
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Collector[0-9A-F]{8}$/), 'Arn'] },
        },
      ]);
      template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('^pgotel dispatcher'),
        ManagedPolicyArns: Match.absent(),
      });
    });
  });

  describe('queues and alarms', () => {
    it('feeds the collector one request at a time, with partial batch failures and a dead-letter queue', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      // requests, their dead letters, failed invocations; the dispatcher's slots and their dead letters
      template.resourceCountIs('AWS::SQS::Queue', 5);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueuesRequests'), 'Arn'] },
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        // six times the 95 s timeout
        VisibilityTimeout: 570,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueuesDeadLetter'), 'Arn'] },
          maxReceiveCount: 3,
        },
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueuesFailedInvocations'), 'Arn'] },
          },
        },
      });
    });

    it('alarms on collector errors, throttles, dispatcher errors and any dead letter', () => {
      // Act
      const { template } = synth(config(ONE_TARGET));

      // Assess
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const subject = (a: Record<string, unknown>) => {
        const [dimension] = a.Dimensions as { Value: { Ref?: string; 'Fn::GetAtt'?: string[] } }[];
        return (dimension?.Value.Ref ?? dimension?.Value['Fn::GetAtt']?.[0] ?? '').replace(
          /[0-9A-F]{8}$/,
          '',
        );
      };
      expect(
        alarms.map((a) => [a.Namespace, a.MetricName, subject(a), a.ComparisonOperator, a.Threshold]),
      ).toEqual([
        ['AWS/Lambda', 'Errors', 'Collector', 'GreaterThanThreshold', 0],
        ['AWS/Lambda', 'Throttles', 'Collector', 'GreaterThanThreshold', 0],
        ['AWS/Lambda', 'Errors', 'Dispatcher', 'GreaterThanThreshold', 0],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueuesDeadLetter', 'GreaterThanThreshold', 0],
        [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'QueuesFailedInvocations',
          'GreaterThanThreshold',
          0,
        ],
        [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'DispatchSlotDeadLetter',
          'GreaterThanThreshold',
          0,
        ],
      ]);
      expect(alarms.every((a) => a.TreatMissingData === 'notBreaching')).toBe(true);
    });
  });

  it('outputs what the CLI and tests need', () => {
    // Act
    const { template } = synth(config(ONE_TARGET));

    // Assess
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
      [
        'ArchiveUrl',
        'ArchiveStreamName',
        'CollectorFunctionArn',
        'CollectorFunctionName',
        'CollectorQueueUrl',
        'DeadLetterQueueUrl',
        'FailedInvocationQueueUrl',
        'StateTableName',
        'DispatcherFunctionName',
        'SlotQueueUrl',
        'SlotDeadLetterQueueUrl',
      ].sort(),
    );
    template.hasOutput('DispatcherFunctionName', { Value: { Ref: Match.stringLikeRegexp('^Dispatcher') } });
    template.hasOutput('SlotQueueUrl', { Value: { Ref: Match.stringLikeRegexp('^DispatchSlots') } });
    template.hasOutput('SlotDeadLetterQueueUrl', {
      Value: { Ref: Match.stringLikeRegexp('^DispatchSlotDeadLetter') },
    });
    template.hasOutput('ArchiveUrl', {
      Value: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^ArchiveBucket') }, '/pgotel']] },
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    const cases: Record<string, PgotelConfig> = {
      'own archive bucket': config(ONE_TARGET),
      'schedule off': config(`${ONE_TARGET}\nschedule: { enabled: false }`),
      'external archive, VPC and SigV4': config(
        `${ONE_TARGET}\narchive: { url: "s3://existing-bucket/pg" }\nremote_write: { url: "${AMP_URL}", auth: { type: sigv4, region: eu-west-1 } }`,
        {
          vpc: {
            vpc_id: 'vpc-0123456789abcdef0',
            subnet_ids: ['subnet-0123456789abcdef0'],
            security_group_ids: ['sg-0123456789abcdef0'],
          },
        },
      ),
    };

    for (const [name, cfg] of Object.entries(cases)) {
      it(`reports no unacknowledged error or warning (${name})`, () => {
        // Prepare
        const { app, stack } = synth(cfg);

        // Act
        const report = new AwsSolutionsChecks(app).validateScope(stack);

        // Assess
        expect(report.violations.map((v) => `${v.ruleName} (${v.severity}): ${v.description}`)).toEqual([]);
      });
    }
  });
});
