/**
 * Text for a terminal. Database, table and target names, server messages, archive keys and file contents
 * come from elsewhere: printed raw, an ESC sequence recolours or rewrites the terminal, a carriage return
 * or newline forges a line. The JSON and Prometheus outputs are escaped by their encoders; everything the
 * CLI prints for people goes through here.
 */

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/**
 * C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional overrides and
 * isolates (which reorder what follows them on the line).
 */
function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeChar(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

function escapeUnsafe(text: string, keep: (char: string) => boolean): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (keep(char) || !(isUnsafe(text.charCodeAt(i)) || char === '\\')) continue;
    out += text.slice(start, i) + escapeChar(char);
    start = i + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

/**
 * One value on one line: every control character escaped as it would be written in a string literal
 * (`\x1b`, `\n`, `\r`, `\t`, `\u202e`), and `\` as `\\` so an escape cannot be faked.
 */
export function printable(value: string): string {
  return escapeUnsafe(value, () => false);
}

/**
 * Text whose own newlines are wanted (a message of several lines, help, a table): control characters other
 * than `\n` are escaped, `\` is left alone. The safety net for a whole stream; values interpolated into such
 * text go through {@link printable} first, so a newline inside a value cannot start a line of its own.
 */
export function printableLines(text: string): string {
  return escapeUnsafe(text, (char) => char === '\n' || char === '\\');
}
