/** The config file is missing, is not YAML, or does not match the schema. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, each naming the field, e.g. `targets[0].tls.mode: ...`. */
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid config ${source}:\n  ${problems.join('\n  ')}`, options);
    this.problems = problems;
  }
}
