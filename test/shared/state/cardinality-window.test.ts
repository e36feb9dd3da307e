import { describe, expect, it } from 'vitest';
import {
  admitInto,
  decodeWindow,
  EMPTY_WINDOW,
  encodeWindow,
  WindowFormatError,
  type WindowState,
  windowId,
} from '../../../shared/state/cardinality-window.ts';

const POLICY = { maxSeriesPerMetric: 5, windowSeconds: 3600 };
const T0 = Date.UTC(2025, 0, 1);
const T0_S = T0 / 1000;
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const admittedOf = (state: WindowState, metric: string, candidates: readonly string[]): string[] =>
  candidates.filter((id) => state.get(metric)?.has(windowId(id)) === true);

describe('windowId', () => {
  it('is cyrb53, fixed: stored windows depend on it never changing', () => {
    // The published cyrb53 values of '' and 'a'.
    expect(windowId('')).toBe(3338908027751811);
    expect(windowId('a')).toBe(7929297801672961);
    expect(windowId('{"database_name":"orders","table_name":"t1"}')).toBe(3063193582379423);
  });
});

describe('admitInto', () => {
  it('admits exactly the budget of 8 new series, the same 5 whatever the input order', () => {
    // Prepare
    const candidates = ids('series-', 8);

    // Act
    const first = admitInto(EMPTY_WINDOW, new Map([['m', candidates]]), POLICY, T0);
    const reversed = admitInto(EMPTY_WINDOW, new Map([['m', [...candidates].reverse()]]), POLICY, T0);

    // Assess
    expect(first.changed).toBe(true);
    expect(first.refused.get('m')?.size).toBe(3);
    expect(first.state.get('m')?.size).toBe(5);
    expect([...(reversed.refused.get('m') ?? [])].sort()).toStrictEqual(
      [...(first.refused.get('m') ?? [])].sort(),
    );
  });

  it('admits the same 5 again from its own state, without a change', () => {
    // Prepare
    const candidates = new Map([['m', ids('series-', 8)]]);
    const first = admitInto(EMPTY_WINDOW, candidates, POLICY, T0);

    // Act
    const again = admitInto(first.state, candidates, POLICY, T0 + 60_000);

    // Assess
    expect(again.changed).toBe(false);
    expect(again.refused).toStrictEqual(first.refused);
    expect(again.state.get('m')).toBe(first.state.get('m'));
  });

  it('refreshes a known series only when it was last seen more than three quarters of a window ago', () => {
    // Prepare
    const state: WindowState = new Map([['m', new Map([[windowId('a'), T0_S]])]]);
    const candidates = new Map([['m', ['a']]]);

    // Act
    const early = admitInto(state, candidates, POLICY, T0 + 2_700_000);
    const late = admitInto(state, candidates, POLICY, T0 + 2_701_000);

    // Assess
    expect(early.changed).toBe(false);
    expect(late.changed).toBe(true);
    expect(late.state.get('m')?.get(windowId('a'))).toBe(T0_S + 2701);
    expect(state.get('m')?.get(windowId('a'))).toBe(T0_S);
  });

  it('drops series not seen for a whole window and admits new ones in their place', () => {
    // Prepare
    const old = ids('old-', 5);
    const first = admitInto(EMPTY_WINDOW, new Map([['m', old]]), POLICY, T0);
    const fresh = ids('new-', 8);

    // Act
    const before = admitInto(first.state, new Map([['m', fresh]]), POLICY, T0 + 3_599_000);
    const after = admitInto(first.state, new Map([['m', fresh]]), POLICY, T0 + 3_600_000);

    // Assess
    expect(before.refused.get('m')?.size).toBe(8);
    expect(after.refused.get('m')?.size).toBe(3);
    expect(admittedOf(after.state, 'm', old)).toStrictEqual([]);
    expect(after.state.get('m')?.size).toBe(5);
  });

  it('keeps admitting known series when the budget is lowered below their count', () => {
    // Prepare
    const known = ids('k-', 5);
    const first = admitInto(EMPTY_WINDOW, new Map([['m', known]]), POLICY, T0);

    // Act
    const result = admitInto(
      first.state,
      new Map([['m', [...known, 'new']]]),
      { ...POLICY, maxSeriesPerMetric: 2 },
      T0,
    );

    // Assess
    expect(result.refused).toStrictEqual(new Map([['m', new Set(['new'])]]));
  });

  it('keeps budgets per metric and leaves metrics with nothing refused out of the result', () => {
    // Act
    const result = admitInto(
      EMPTY_WINDOW,
      new Map([
        ['small', ids('s-', 2)],
        ['large', ids('l-', 7)],
      ]),
      POLICY,
      T0,
    );

    // Assess
    expect([...result.refused.keys()]).toStrictEqual(['large']);
    expect(result.refused.get('large')?.size).toBe(2);
    expect(result.state.get('small')?.size).toBe(2);
  });

  it('counts a repeated candidate once', () => {
    // Act
    const result = admitInto(EMPTY_WINDOW, new Map([['m', ['a', 'a', 'b']]]), POLICY, T0);

    // Assess
    expect(result.state.get('m')?.size).toBe(2);
    expect(result.refused.size).toBe(0);
  });
});

describe('encodeWindow / decodeWindow', () => {
  it('encodes a version byte, a metric table and 12 bytes a series', () => {
    // Prepare
    const state: WindowState = new Map([['m', new Map([[0x10203 * 2 ** 32 + 0x04050607, 0x0a0b0c0d]])]]);

    // Act
    const bytes = encodeWindow(state);

    // Assess
    expect([...bytes]).toStrictEqual([
      1, 0, 0, 0, 1, 0, 1, 0x6d, 0, 0, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 0x0a, 0x0b, 0x0c, 0x0d,
    ]);
    expect(decodeWindow(bytes)).toStrictEqual(state);
  });

  it('round-trips a window of many metrics and series', () => {
    // Prepare
    const result = admitInto(
      EMPTY_WINDOW,
      new Map([
        ['postgresql.table.size', ids('t-', 1000)],
        ['postgresql.índex.scans', ids('i-', 10)],
      ]),
      { maxSeriesPerMetric: 10_000, windowSeconds: 3600 },
      T0,
    );

    // Act
    const bytes = encodeWindow(result.state);

    // Assess
    expect(bytes.length).toBe(5 + (2 + 21 + 4) + (2 + 23 + 4) + 1010 * 12);
    expect(decodeWindow(bytes)).toStrictEqual(result.state);
  });

  it('refuses bytes it did not write', () => {
    const bytes = encodeWindow(new Map([['m', new Map([[1, 1]])]]));
    expect(() => decodeWindow(bytes.subarray(0, bytes.length - 1))).toThrow(WindowFormatError);
    expect(() => decodeWindow(new Uint8Array([...bytes, 0]))).toThrow(/1 trailing bytes/);
    expect(() => decodeWindow(new Uint8Array([2, 0, 0, 0, 0]))).toThrow(/unknown version 2/);
    const wide = new Uint8Array(bytes);
    wide[12] = 0x01; // the high byte of the first id: beyond 53 bits
    expect(() => decodeWindow(wide)).toThrow(/above 53 bits/);
  });
});
