/**
 * Series keys (`seriesKey` in staleness.ts: the JSON of the sorted name/value pairs), the identity a run
 * persists to find the series that vanished before the next. Built for every series of every run, so
 * from pieces made once per batch, family or distinct label, not once per series.
 */

/**
 * `JSON.stringify` of one string, without its cost for the usual label text (printable ASCII
 * without `"` or `\`), which needs no escaping. The result is always exactly `JSON.stringify(text)`.
 */
function jsonString(text: string): string {
  return isPlainJsonText(text) ? `"${text}"` : JSON.stringify(text);
}

/** `true` when `JSON.stringify(text)` is `text` in quotes: printable ASCII without `"` or `\`. */
export function isPlainJsonText(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return false;
  }
  return true;
}

/** The part of a series key (`seriesKey`) one label contributes: `"name","value"`. */
export function labelKeyPart(name: string, value: string): string {
  return `${jsonString(name)},${jsonString(value)}`;
}

/**
 * Assembles series keys (`seriesKey`: the JSON of the sorted name/value pairs) from pieces made once: one per
 * resource label run, family name and distinct point label, each with its leading comma, so one key is a
 * `join` of a handful of strings into one flat string.
 */
export class KeyAssembler {
  private readonly runs: (string | undefined)[] = [];
  private parts: string[] = [];
  private runStart = -1;
  private runEnd = -1;
  private cursor = 0;
  /** `matched[i]` is 1 once `previous[i]` was found to be the key of a series of this batch. */
  readonly matched: Uint8Array;

  /**
   * `resParts`: `,"name","value"` of each resource label, in label order. `previous`: the keys of the previous
   * run; in steady state the same keys in the same order, so the key a series needs usually exists already
   * and is checked piece by piece instead of being built (no allocation, and the strings are shared).
   */
  constructor(
    private readonly resParts: readonly string[],
    private readonly previous: readonly string[],
  ) {
    this.matched = new Uint8Array(previous.length);
  }

  /** Appends resource label `index`. */
  resource(index: number): void {
    if (this.runEnd !== index) {
      this.flushRun();
      this.runStart = index;
    }
    this.runEnd = index + 1;
  }

  /** Appends any other label, as its `,"name","value"` piece. */
  other(part: string): void {
    this.flushRun();
    this.parts.push(part);
  }

  /**
   * The key of the labels appended since the last call: the next previous key when it is equal (one
   * inserted or removed series is skipped over), else built. `head` replaces the first piece when it is `first`.
   */
  finish(first: string, head: string): string {
    this.flushRun();
    const parts = this.parts;
    this.parts = [];
    for (let c = this.cursor; c < this.cursor + 2 && c < this.previous.length; c++) {
      const candidate = this.previous[c];
      if (typeof candidate === 'string' && this.equals(candidate, parts, first, head)) {
        this.matched[c] = 1;
        this.cursor = c + 1;
        return candidate;
      }
    }
    const lead = parts[0] ?? '';
    parts[0] = lead === first ? head : `[${lead.slice(1)}`;
    parts.push(']');
    return parts.join('');
  }

  /** `true` when `candidate` is the key of `parts` (only for keys that start with the metric name, the usual case). */
  private equals(candidate: string, parts: readonly string[], first: string, head: string): boolean {
    // `indexOf(part, offset) === offset` is `startsWith(part, offset)`, about three times faster in V8.
    if (parts[0] !== first || candidate.indexOf(head) !== 0) return false;
    let offset = head.length;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i] ?? '';
      if (candidate.indexOf(part, offset) !== offset) return false;
      offset += part.length;
    }
    return offset === candidate.length - 1 && candidate.charCodeAt(offset) === 0x5d;
  }

  private flushRun(): void {
    if (this.runStart < 0) return;
    const stride = this.resParts.length + 1;
    const slot = this.runStart * stride + this.runEnd;
    let run = this.runs[slot];
    if (run === undefined) {
      run = this.resParts.slice(this.runStart, this.runEnd).join('');
      this.runs[slot] = run;
    }
    this.parts.push(run);
    this.runStart = -1;
    this.runEnd = -1;
  }
}
