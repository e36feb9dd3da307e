import { describe, expect, it } from 'vitest';
import { MemoryCardinalityStore, MemorySeriesStateStore } from '../../../shared/state/memory.ts';

describe('MemorySeriesStateStore', () => {
  it('loads what was saved per target and tier, and a copy of it', async () => {
    // Prepare
    const store = new MemorySeriesStateStore();
    const keys = ['["__name__","a"]'];
    await store.save('t', { critical: keys, standard: [] });
    keys.push('["__name__","b"]');

    // Act
    const loaded = await store.load('t', ['critical', 'standard', 'historical']);
    const other = await store.load('u', ['critical']);

    // Assess
    expect(loaded).toStrictEqual({ critical: ['["__name__","a"]'], standard: [] });
    expect(other).toStrictEqual({});
  });
});

describe('MemoryCardinalityStore', () => {
  it('keeps the budget per scope across calls', async () => {
    // Prepare
    const store = new MemoryCardinalityStore();
    const policy = { maxSeriesPerMetric: 2, windowSeconds: 60 };
    const t0 = Date.UTC(2025, 0, 1);
    await store.admit('a', new Map([['m', ['x', 'y']]]), policy, t0);

    // Act
    const sameScope = await store.admit('a', new Map([['m', ['x', 'y', 'z']]]), policy, t0 + 1_000);
    const otherScope = await store.admit('b', new Map([['m', ['z']]]), policy, t0 + 1_000);
    const afterWindow = await store.admit('a', new Map([['m', ['z']]]), policy, t0 + 60_000);

    // Assess
    expect(sameScope).toStrictEqual(new Map([['m', new Set(['z'])]]));
    expect(otherScope.size).toBe(0);
    expect(afterWindow.size).toBe(0);
  });
});
