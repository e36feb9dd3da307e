/**
 * Quoting for SQL text that cannot take bind parameters (`CREATE ROLE`, `GRANT … ON DATABASE`, utility
 * statements in general): identifiers always double-quoted, literals as standard strings, so a name holding
 * a quote, a space or a capital letter is one name and never more SQL.
 */

/** A name as a quoted identifier: `a"b` → `"a""b"`. NUL cannot be in a PostgreSQL name and is refused. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('an SQL identifier cannot contain a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Text as a string literal: `it's` → `'it''s'`. A backslash escapes the next character when the server has
 * `standard_conforming_strings` off, so text holding one is refused rather than quoted for one setting only.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new Error('an SQL literal cannot contain a NUL character');
  if (text.includes('\\')) throw new Error('an SQL literal here cannot contain a backslash');
  return `'${text.replaceAll("'", "''")}'`;
}
