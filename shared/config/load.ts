import { readFile } from 'node:fs/promises';
import { parse, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { BUILTIN_QUERIES } from '../queries/catalog.ts';
import { ConfigError } from './errors.ts';
import { querySetProblems } from './query-set.ts';
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

/**
 * Validates an already-parsed object (YAML or JSON) against the config schema, then the names its queries
 * and metrics use (clashes with built-ins, unknown names in `queries.disable`), so every problem is reported
 * with `source` before anything runs.
 */
export function parseConfig(raw: unknown, source = '(inline)'): PgotelConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, describeIssues(result.error.issues));
  const problems = querySetProblems(result.data, BUILTIN_QUERIES);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return result.data;
}

/** Parses YAML text into a validated config. */
export function parseConfigYaml(text: string, source = '(inline)'): PgotelConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    // The first line of the parser's message ("... at line 3, column 7:"), not the excerpt of the file after it.
    const detail = error instanceof YAMLParseError ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ConfigError(source, [`not valid YAML: ${detail.replace(/:$/, '')}`], { cause: error });
  }
  return parseConfig(raw, source);
}

/** What an fs error code means, for a one-line message. */
function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot read file: ENOENT (no such file)';
  if (code === 'EISDIR') return 'cannot read file: EISDIR (it is a directory)';
  if (code === 'EACCES') return 'cannot read file: EACCES (permission denied)';
  return `cannot read file: ${code ?? String(error)}`;
}

/** Reads and validates `pgotel.config.yaml` (or any path). A file that is not UTF-8 text is refused unparsed. */
export async function loadConfig(path: string): Promise<PgotelConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ConfigError(path, [readProblem(error)], { cause: error });
  }
  let text: string;
  try {
    if (bytes.includes(0)) throw new Error('NUL byte');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    // The YAML parser would quote the offending line: never echo a binary file.
    throw new ConfigError(path, ['not a YAML file: it holds binary data, not UTF-8 text'], { cause: error });
  }
  return parseConfigYaml(text, path);
}
