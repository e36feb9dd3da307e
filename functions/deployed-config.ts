import { readFileSync } from 'node:fs';
import type { PgotelConfig } from '../shared/config/schema.ts';

/** A required environment variable is missing: the function fails at init, naming it. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

/** The value of a required environment variable. @throws EnvironmentError naming it */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '')
    throw new EnvironmentError(`environment variable ${name} is not set`);
  return value;
}

/**
 * The config the stack bundled next to the handler (`pgotel.config.json`, validated at `cdk synth`, so no
 * schema library is loaded here), or the file `PGOTEL_CONFIG_PATH` names.
 */
export function readDeployedConfig(env: NodeJS.ProcessEnv, moduleUrl: string): PgotelConfig {
  const path = env.PGOTEL_CONFIG_PATH ?? new URL('./pgotel.config.json', moduleUrl);
  return JSON.parse(readFileSync(path, 'utf8')) as PgotelConfig;
}
