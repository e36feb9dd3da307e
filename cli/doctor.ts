import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, parseConfig } from '../shared/config/load.ts';
import {
  type ConnectionSource,
  connectionSource,
  planTarget,
  type TargetPlan,
} from '../shared/config/runtime.ts';
import type { Check } from '../shared/doctor/checks.ts';
import { type DoctorReport, runDoctor } from '../shared/doctor/doctor.ts';
import { secretValueField } from '../shared/secrets/rds-secret.ts';
import { createSecretsManagerClient, SecretsManagerSource } from '../shared/secrets/secrets-manager.ts';
import { UsageError } from './collect.ts';
import { printable } from './printable.ts';

/** Options of `pgotel doctor`, as parsed from the command line. */
export interface DoctorFlags {
  readonly dsn?: string;
  readonly config?: string;
  readonly target?: string;
}

/** Secrets Manager from the usual AWS environment (`AWS_REGION`, `AWS_ENDPOINT_URL` for an emulator). */
function secretsFromEnv(env: NodeJS.ProcessEnv): { source: SecretsManagerSource; close: () => void } {
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  const client = createSecretsManagerClient({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
  });
  return { source: new SecretsManagerSource(client), close: () => client.destroy() };
}

/** A credential from a Secrets Manager secret: the plain value, or `field` of its JSON (an RDS secret). */
export async function readSecretField(arn: string, field: string, env: NodeJS.ProcessEnv): Promise<string> {
  const secrets = secretsFromEnv(env);
  try {
    return secretValueField(await secrets.source.get(arn), field, arn);
  } finally {
    secrets.close();
  }
}

/** The target to check and where its credentials come from: a config target (DSN or secret), or a DSN. */
async function planDoctor(
  flags: DoctorFlags,
  env: NodeJS.ProcessEnv,
): Promise<{ plan: TargetPlan; connection: ConnectionSource; close: () => void }> {
  if (flags.config !== undefined || flags.target !== undefined) {
    const path = flags.config ?? 'pgotel.config.yaml';
    if (flags.config === undefined && !existsSync(path))
      throw new UsageError('--target needs --config FILE (no pgotel.config.yaml here)');
    const config = await loadConfig(path);
    try {
      const plan = planTarget(config, flags.target);
      const usesSecret = flags.dsn === undefined && plan.config.dsn === undefined;
      const secrets = usesSecret ? secretsFromEnv(env) : undefined;
      const connection = connectionSource(plan.config, {
        ...(secrets === undefined ? {} : { secrets: secrets.source }),
        ...(flags.dsn === undefined ? {} : { dsnOverride: flags.dsn }),
      });
      return { plan, connection, close: () => secrets?.close() };
    } catch (error) {
      if (error instanceof ConfigError) throw error.withSource(path);
      if (error instanceof Error && error.name === 'Error') throw new UsageError(error.message);
      throw error;
    }
  }
  const dsn = flags.dsn ?? env.DATABASE_URL;
  if (dsn === undefined || dsn === '')
    throw new UsageError('doctor needs --dsn URL (or $DATABASE_URL), or --config FILE --target NAME');
  const plan = planTarget(parseConfig({ environment: 'local', targets: [{ name: 'local', dsn }] }, '--dsn'));
  return { plan, connection: connectionSource(plan.config, {}), close: () => undefined };
}

/** One check per line: status, name and detail in columns, then the fix. Values are escaped for the terminal. */
function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => {
    const fix = c.fix === undefined ? '' : ` — fix: ${printable(c.fix)}`;
    return `${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${printable(c.detail)}${fix}`;
  });
  const count = (status: Check['status']) => checks.filter((c) => c.status === status).length;
  return `${lines.join('\n')}\n${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail\n`;
}

/** Runs the checks and prints them; the report decides the exit code. */
export async function doctor(
  flags: DoctorFlags,
  env: NodeJS.ProcessEnv,
): Promise<DoctorReport & { text: string }> {
  const { plan, connection, close } = await planDoctor(flags, env);
  try {
    const report = await runDoctor(plan, connection);
    return { ...report, text: formatChecks(report.checks) };
  } finally {
    close();
  }
}
