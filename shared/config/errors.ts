/** The config file is missing, is not YAML, or does not match the schema. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The file (or flag, e.g. `--dsn`) the config came from; undefined when the caller did not know it. */
  readonly source: string | undefined;
  /** One line per problem, each naming the field, e.g. `targets[0].tls.mode: ...`. */
  readonly problems: readonly string[];
  constructor(source: string | undefined, problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid config${source === undefined ? '' : ` ${source}`}:\n  ${problems.join('\n  ')}`, options);
    this.source = source;
    this.problems = problems;
  }

  /**
   * The same problems attributed to `source`: for a shell that knows which file a validated config came from
   * when code that only saw the parsed config (`planTarget`, `connectionSource`, ...) finds a problem.
   */
  withSource(source: string): ConfigError {
    return this.source === source ? this : new ConfigError(source, this.problems, { cause: this });
  }
}
