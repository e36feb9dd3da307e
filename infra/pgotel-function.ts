import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Fn, RemovalPolicy, Stage, Validations } from 'aws-cdk-lib';
import { type ISubnet, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { type LambdaSettings, lambdaSettingsOf, logRetention } from './lambda-settings.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Name of the config file inside the bundle; the handler reads it next to its own module. */
export const BUNDLED_CONFIG_FILE = 'pgotel.config.json';

/**
 * esbuild emits ESM, where CommonJS dependencies (pg) find no `require` for Node built-ins. The alias keeps
 * the banner's import from clashing with a bundled module's own `createRequire` import.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __pgotelCreateRequire } from 'node:module';" +
  'const require = __pgotelCreateRequire(import.meta.url);';

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes the parsed config (defaults applied) into the cloud assembly directory, named by its content hash:
 * the hash keeps two stacks of one synth (tests) from sharing a cached bundle with the wrong config.
 */
function writeConfigJson(scope: Construct, config: PgotelConfig): string {
  const json = `${JSON.stringify(config, null, 2)}\n`;
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
  const outdir = Stage.of(scope)?.outdir;
  if (outdir === undefined) throw new Error('pgotel functions must be created inside a CDK App or Stage');
  const file = join(outdir, `pgotel.config.${hash}.json`);
  writeFileSync(file, json);
  return file;
}

/** Props of {@link PgotelFunction}. */
export interface PgotelFunctionProps {
  /** The validated config; bundled as `pgotel.config.json` and the source of log retention. */
  readonly config: PgotelConfig;
  /** The folder under `functions/` whose `handler.ts` exports `handler`; also names the service. */
  readonly handlerDir: 'collector' | 'dispatcher';
  /** What the function's role is for (IAM role description). */
  readonly roleDescription: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Subnets and security groups to run in; `undefined` runs outside any VPC. */
  readonly vpc?: LambdaSettings['vpc'];
}

/** Lambda's filter for the functions' JSON log lines, the same level as Powertools' own. */
const APPLICATION_LOG_LEVELS = {
  debug: ApplicationLogLevel.DEBUG,
  info: ApplicationLogLevel.INFO,
  warn: ApplicationLogLevel.WARN,
  error: ApplicationLogLevel.ERROR,
} as const;

/**
 * A pgotel Lambda: Node.js 24 on ARM64 (bundle targeted at Node 22, the oldest runtime it is tested on), an
 * ESM bundle with the AWS SDK inside and the validated config beside it, source maps, its own log group
 * with the configured retention and its own role holding only what the subclass's `bind*` calls add.
 */
export class PgotelFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PgotelFunctionProps) {
    const configFile = writeConfigJson(scope, props.config);
    const logLevel = lambdaSettingsOf(props.config).log_level ?? 'warn';
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention(lambdaSettingsOf(props.config)),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.roleDescription,
    });
    logGroup.grantWrite(role);
    const network = props.vpc === undefined ? {} : importNetwork(scope, id, props.vpc, role);
    super(scope, id, {
      entry: join(REPO_ROOT, 'functions', props.handlerDir, 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      ...network,
      environment: {
        POWERTOOLS_SERVICE_NAME: `pgotel-${props.handlerDir}`,
        POWERTOOLS_LOG_LEVEL: logLevel.toUpperCase(),
        // V8 sizes its heap from the machine, not from the function's memory: capped at three quarters of it, the
        // heap is collected before Lambda would kill the process at its limit. Semi-spaces of 2 MB instead of 16 MB
        // promote a run's rows and points to the old space sooner and keep less garbage beside them: a
        // 52,000-series run peaked at 177-196 MB instead of 205-232 MB, for the same CPU time.
        NODE_OPTIONS: `--enable-source-maps --max-old-space-size=${Math.floor((props.memorySize * 3) / 4)} --max-semi-space-size=2`,
        // glibc keeps freed buffers of up to 32 MB in its heap, and the process's memory with them; from 128 KiB up
        // they are mapped and unmapped instead (a 52,000-series run peaked at 233 MB instead of 240-249 MB).
        MALLOC_MMAP_THRESHOLD_: '131072',
      },
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: APPLICATION_LOG_LEVELS[logLevel],
      // START/END/REPORT lines on every invocation would cost more in CloudWatch Logs than the runs' own lines.
      systemLogLevelV2: SystemLogLevel.WARN,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // The emulator's runtime has no SDK, and a bundled SDK pins the version the code was tested with.
        externalModules: [],
        minify: true,
        sourceMap: true,
        // Stack traces need file:line, not the sources; leaving them out keeps the zip small.
        sourcesContent: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The hashed file name is part of the bundling options, so a config change is a new asset.
          afterBundling: (_input: string, output: string) => [
            `cp ${shellQuote(configFile)} ${shellQuote(join(output, BUNDLED_CONFIG_FILE))}`,
          ],
        },
      },
    });
  }
}

/** The config's existing VPC, subnets and security groups, imported without lookups (no AWS at synth). */
function importNetwork(
  scope: Construct,
  id: string,
  vpc: NonNullable<LambdaSettings['vpc']>,
  role: Role,
): Pick<NodejsFunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> {
  const zones = vpc.availability_zones ?? [];
  const subnets: ISubnet[] = vpc.subnet_ids.map((subnetId, i) => {
    const availabilityZone = zones[i];
    return availabilityZone === undefined
      ? Subnet.fromSubnetId(scope, `${id}Subnet${i}`, subnetId)
      : Subnet.fromSubnetAttributes(scope, `${id}Subnet${i}`, { subnetId, availabilityZone });
  });
  // Lambda creates the ENIs with the execution role; the AWS policy is the documented minimum for that.
  role.addManagedPolicy(
    ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason:
      'Lambda needs ec2:CreateNetworkInterface/Describe*/DeleteNetworkInterface on "*" to attach the function ' +
      'to the configured subnets; the AWS-maintained policy is exactly that set and nothing else.',
  });
  return {
    vpc: Vpc.fromVpcAttributes(scope, `${id}Vpc`, {
      vpcId: vpc.vpc_id,
      // Only used to pick subnets, and the subnets are given explicitly; the region's list satisfies the
      // import without a lookup.
      availabilityZones: zones.length > 0 ? [...zones] : Fn.getAzs(),
    }),
    vpcSubnets: { subnets },
    securityGroups: vpc.security_group_ids.map((sg, i) =>
      // Immutable: the security groups belong to the user's network; the stack must not add rules to them.
      SecurityGroup.fromSecurityGroupId(scope, `${id}SecurityGroup${i}`, sg, { mutable: false }),
    ),
  };
}
