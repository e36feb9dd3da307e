import { describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../cli/printable.ts';

describe('printable', () => {
  it('escapes controls as string literals do, and the backslash so an escape cannot be faked', () => {
    expect(printable('db\u001b[31mred\nline\r\tx\\x1b\u0000\u007f\u009b\u202eevil\u2028')).toBe(
      'db\\x1b[31mred\\nline\\r\\tx\\\\x1b\\x00\\x7f\\x9b\\u202eevil\\u2028',
    );
  });

  it('leaves ordinary text, quotes and non-ASCII letters alone (and returns the same string)', () => {
    const text = 'shop "east" ünïcode db 日本語 👍';
    expect(printable(text)).toBe(text);
  });

  it('printableLines keeps newlines and backslashes, escapes the rest', () => {
    expect(printableLines('a\u001b[2J\nb\\n\r\n')).toBe('a\\x1b[2J\nb\\n\\r\n');
  });
});
