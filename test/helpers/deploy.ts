import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTimeToLiveCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { AwsEmulator } from './aws.ts';
import { delay, makeTmpRoot, trackChild } from './processes.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const CDK_BIN = join(REPO_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const COMMAND_TIMEOUT_MS = 300_000;
const OUTPUT_TAIL_LINES = 60;

/** The stack outputs `PgotelStack` declares (see `infra/pgotel-stack.ts`). */
export const STACK_OUTPUT_NAMES = [
  'CollectorFunctionName',
  'CollectorFunctionArn',
  'StateTableName',
  'ArchiveUrl',
  'ArchiveStreamName',
  'CollectorQueueUrl',
  'DeadLetterQueueUrl',
  'FailedInvocationQueueUrl',
  'DispatcherFunctionName',
  'SlotQueueUrl',
  'SlotDeadLetterQueueUrl',
] as const;

/** One of {@link STACK_OUTPUT_NAMES}. */
export type StackOutputName = (typeof STACK_OUTPUT_NAMES)[number];

/** A deployed pgotel stack. */
export interface DeployedStack {
  readonly stackName: string;
  /** Every output of {@link STACK_OUTPUT_NAMES}, by name. */
  readonly outputs: Readonly<Record<StackOutputName, string>>;
  /** The cloud assembly (`cdk.out`) of this deploy: templates and the bundled `asset.*` directories. */
  readonly assemblyDir: string;
  /** Wall time of `cdk bootstrap`, or `undefined` when this process had already bootstrapped the emulator. */
  readonly bootstrapMs: number | undefined;
  /** Wall time of `cdk deploy` (synth, bundling, asset upload, stack create or update). */
  readonly deployMs: number;
}

/** Options of {@link deployStack}. */
export interface DeployOptions {
  readonly aws: AwsEmulator;
  /** The `pgotel.config.yaml` to deploy (context `pgotel:config`). */
  readonly configPath: string;
  /** @default 'Pgotel' (context `pgotel:stackName`); give distinct names to share one emulator. */
  readonly stackName?: string;
}

/** A cdk command failed; the message ends with the tail of its output. */
export class CdkCommandError extends Error {
  override readonly name = 'CdkCommandError';
  constructor(
    readonly args: readonly string[],
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    const tail = output.trimEnd().split('\n').slice(-OUTPUT_TAIL_LINES).join('\n');
    super(`cdk ${args.slice(0, 2).join(' ')} failed:\n${tail}`, options);
  }
}

/**
 * The environment of a cdk command against the emulator: its endpoint and test credentials, and nothing of
 * the developer's AWS setup (profiles, tokens, `~/.aws`, the CLI's account cache in `~/.cdk`), so a test
 * can never reach a real account and parallel deploys share no state.
 */
function cdkEnv(aws: AwsEmulator, home: string): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_)/.test(name)),
  );
  return {
    ...inherited,
    HOME: home,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_REGION: aws.region,
    AWS_DEFAULT_REGION: aws.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

/** Runs the project's cdk CLI in `cwd`; resolves with its combined output, throws on failure. */
function runCdk(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CDK_BIN, ...args, '--no-notices', '--ci'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also stops the app (tsx) and esbuild it started.
      detached: true,
    });
    // A worker that dies mid-deploy takes the CLI with it instead of leaving it running.
    const untrack = trackChild(child, 'SIGTERM');
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, COMMAND_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      untrack();
      reject(new CdkCommandError(args, String(error), { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      untrack();
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolvePromise(output);
      else reject(new CdkCommandError(args, `${output}\n(exit ${code ?? signal})`));
    });
  });
}

/** One bootstrap per emulator and process; later deploys wait for the first. */
const bootstraps = new WeakMap<AwsEmulator, Promise<number>>();

/**
 * Runs where there is no `cdk.json` (`home`): in the repository the CLI would synthesize the app first, which
 * bootstrapping an explicit environment does not need.
 */
function bootstrap(aws: AwsEmulator, env: NodeJS.ProcessEnv, home: string): Promise<number> {
  let pending = bootstraps.get(aws);
  if (pending === undefined) {
    const started = performance.now();
    // `unknown-account` lets the CLI ask the emulator's STS for the account (ministack: 000000000000).
    pending = runCdk(['bootstrap', `aws://unknown-account/${aws.region}`], env, home).then(
      () => performance.now() - started,
    );
    // A failed bootstrap is not cached: the next deploy tries again and reports its own error.
    pending.catch(() => bootstraps.delete(aws));
    bootstraps.set(aws, pending);
  }
  return pending;
}

function parseOutputs(text: string, stackName: string): Record<StackOutputName, string> {
  const all = JSON.parse(text) as Record<string, Record<string, unknown> | undefined>;
  const own = all[stackName] ?? {};
  const missing = STACK_OUTPUT_NAMES.filter((name) => typeof own[name] !== 'string');
  if (missing.length > 0) {
    throw new Error(`stack ${stackName} has no output(s) ${missing.join(', ')}: ${JSON.stringify(own)}`);
  }
  return Object.fromEntries(STACK_OUTPUT_NAMES.map((name) => [name, String(own[name])])) as Record<
    StackOutputName,
    string
  >;
}

function clientOptions(aws: AwsEmulator) {
  return { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
}

/**
 * Turns on the TTL the template declares where the emulator left it off: ministack 1.5.33's CloudFormation
 * ignores `TimeToLiveSpecification` of `AWS::DynamoDB::Table` (and `PointInTimeRecoverySpecification`,
 * which changes nothing a test can see). Without this, state items would never expire in a deployed stack.
 */
async function enableDeclaredTtl(aws: AwsEmulator, stackName: string, assemblyDir: string): Promise<void> {
  const template = JSON.parse(await readFile(join(assemblyDir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { TimeToLiveSpecification?: unknown } }>;
  };
  const cfn = new CloudFormationClient(clientOptions(aws));
  const dynamodb = new DynamoDBClient(clientOptions(aws));
  try {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const spec = resource.Properties?.TimeToLiveSpecification as
        | { AttributeName?: string; Enabled?: boolean }
        | undefined;
      if (resource.Type !== 'AWS::DynamoDB::Table' || spec?.Enabled !== true) continue;
      const described = await cfn.send(
        new DescribeStackResourceCommand({ StackName: stackName, LogicalResourceId: logicalId }),
      );
      const table = described.StackResourceDetail?.PhysicalResourceId;
      if (table === undefined) continue;
      const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table }));
      const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
      if (status === 'ENABLED' || status === 'ENABLING') continue;
      await dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: table,
          TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: true },
        }),
      );
    }
  } finally {
    cfn.destroy();
    dynamodb.destroy();
  }
}

/**
 * Deploys the pgotel CDK app (`infra/app.ts`) with `configPath` into the emulator, the way a user does:
 * `cdk bootstrap` (once per emulator) then `cdk deploy --require-approval never`. Each call synthesizes
 * into its own cloud assembly directory with its own `HOME`, so deploys from parallel test files do not
 * share `cdk.out` or the CLI's account cache. Calling it again with the same stack name updates the stack.
 * Afterwards it turns on the DynamoDB TTL the template declares when the emulator did not.
 */
export async function deployStack(options: DeployOptions): Promise<DeployedStack> {
  const stackName = options.stackName ?? 'Pgotel';
  const root = await makeTmpRoot('cdk');
  const home = join(root, 'home');
  await mkdir(home);
  const env = cdkEnv(options.aws, home);
  const before = bootstraps.has(options.aws);
  const bootstrapMs = await bootstrap(options.aws, env, home);
  const assemblyDir = join(root, 'cdk.out');
  const outputsFile = join(root, 'outputs.json');
  const started = performance.now();
  await runCdk(
    [
      'deploy',
      stackName,
      '--require-approval',
      'never',
      '--output',
      assemblyDir,
      '--outputs-file',
      outputsFile,
      '--context',
      `pgotel:config=${resolve(options.configPath)}`,
      '--context',
      `pgotel:stackName=${stackName}`,
    ],
    env,
    REPO_ROOT,
  );
  const deployMs = performance.now() - started;
  await enableDeclaredTtl(options.aws, stackName, assemblyDir);
  return {
    stackName,
    outputs: parseOutputs(await readFile(outputsFile, 'utf8'), stackName),
    assemblyDir,
    bootstrapMs: before ? undefined : bootstrapMs,
    deployMs,
  };
}

/**
 * Deletes a deployed stack through CloudFormation and waits until it is gone (what `cdk destroy` does,
 * without synthesizing the app again). Resources with a RETAIN policy (the archive bucket) stay.
 */
export async function destroyStack(aws: AwsEmulator, stackName: string, timeoutMs = 120_000): Promise<void> {
  const cfn = new CloudFormationClient(clientOptions(aws));
  try {
    await cfn.send(new DeleteStackCommand({ StackName: stackName }));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let status: string | undefined;
      try {
        const described = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
        status = described.Stacks?.[0]?.StackStatus;
      } catch (error) {
        // CloudFormation answers "does not exist" once the deletion is complete.
        if (error instanceof Error && /does not exist/.test(error.message)) return;
        throw error;
      }
      if (status === undefined || status === 'DELETE_COMPLETE') return;
      if (status === 'DELETE_FAILED') throw new Error(`stack ${stackName}: DELETE_FAILED`);
      if (Date.now() > deadline) throw new Error(`stack ${stackName} still ${status} after ${timeoutMs} ms`);
      await delay(250);
    }
  } finally {
    cfn.destroy();
  }
}
