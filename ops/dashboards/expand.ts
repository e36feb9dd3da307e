/**
 * Grafana's variable interpolation, for running a panel's PromQL outside Grafana (the dashboard test and
 * the renderer): `$name`, `${name}` and the built-ins such as `$__rate_interval` and `$__range`.
 */

/** Thrown for a variable the caller gave no value for: a panel using an undefined variable is a defect. */
export class UnknownVariableError extends Error {
  override readonly name = 'UnknownVariableError';
}

/** `expr` with every `$name` / `${name}` replaced by `values[name]`. @throws {UnknownVariableError} */
export function expandVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_match, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = values[name];
      if (value === undefined) throw new UnknownVariableError(`no value for $${name} in ${expr}`);
      return value;
    },
  );
}

/**
 * What Grafana puts in `=~"$var"` for a multi-value selection: the values regex-escaped, as one
 * alternation (a single value stays as it is).
 */
export function regexOf(values: readonly string[]): string {
  const escaped = values.map((value) => value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&'));
  return escaped.length === 1 ? (escaped[0] ?? '') : `(${escaped.join('|')})`;
}
