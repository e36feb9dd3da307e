import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PgotelStack } from '../../infra/pgotel-stack.ts';
import { parseConfigYaml } from '../../shared/config/load.ts';

describe('PgotelStack', () => {
  it('creates a private, encrypted, TLS-only archive bucket when the config names none', () => {
    const config = parseConfigYaml('targets: [{ name: a, dsn: "postgres://x" }]');

    const template = Template.fromStack(new PgotelStack(new App(), 'Test', { config }));

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

  it('creates no bucket when the config archives elsewhere', () => {
    const config = parseConfigYaml(
      'targets: [{ name: a, dsn: "postgres://x" }]\narchive: { url: "s3://existing-bucket/pg" }',
    );

    const template = Template.fromStack(new PgotelStack(new App(), 'Test', { config }));

    expect(template.findResources('AWS::S3::Bucket')).toEqual({});
  });
});
