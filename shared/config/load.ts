import { readFile } from 'node:fs/promises';
import { parse, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.ts';
import { configSchema, type PgotelConfig } from './schema.ts';

export { ConfigError };

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Formats zod issues as `field.path: message`, one per line. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${fieldPath(issue.path)}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${fieldPath(issue.path)}: ${issue.message}`;
  });
}

/** Validates an already-parsed object (YAML or JSON) against the config schema. */
export function parseConfig(raw: unknown, source = '(inline)'): PgotelConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, describeIssues(result.error.issues));
  return result.data;
}

/** Parses YAML text into a validated config. */
export function parseConfigYaml(text: string, source = '(inline)'): PgotelConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message : String(error);
    throw new ConfigError(source, [`not valid YAML: ${detail}`], { cause: error });
  }
  return parseConfig(raw, source);
}

/** Reads and validates `pgotel.config.yaml` (or any path). */
export async function loadConfig(path: string): Promise<PgotelConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      path,
      [`cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`],
      {
        cause: error,
      },
    );
  }
  return parseConfigYaml(text, path);
}
