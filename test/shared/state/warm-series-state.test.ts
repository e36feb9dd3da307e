import { describe, expect, it } from 'vitest';
import type { Tier } from '../../../shared/model/metrics.ts';
import { MemorySeriesStateStore } from '../../../shared/state/memory.ts';
import type { SeriesByTier } from '../../../shared/state/ports.ts';
import { WarmSeriesStateStore } from '../../../shared/state/warm-series-state.ts';

/** The memory store, counting what reaches it. */
class CountingStore extends MemorySeriesStateStore {
  loads: Tier[][] = [];
  saves: SeriesByTier[] = [];
  override async load(target: string, tiers: readonly Tier[]): Promise<SeriesByTier> {
    this.loads.push([...tiers]);
    return super.load(target, tiers);
  }
  override async save(target: string, series: SeriesByTier): Promise<void> {
    this.saves.push(series);
    return super.save(target, series);
  }
}

function setup(persistEverySeconds = 600) {
  let nowMs = Date.UTC(2026, 10, 29, 12, 0, 0);
  const inner = new CountingStore();
  const warm = new WarmSeriesStateStore(inner, { persistEverySeconds, now: () => nowMs });
  return { inner, warm, advance: (seconds: number) => (nowMs += seconds * 1000) };
}

describe('WarmSeriesStateStore', () => {
  it('reads a tier from the inner store once, then from memory', async () => {
    // Prepare
    const { inner, warm, advance } = setup();
    await inner.save('shop', { critical: ['a', 'b'] });
    inner.saves = [];

    // Act
    const first = await warm.load('shop', ['critical']);
    await warm.save('shop', { critical: ['a', 'c'] });
    advance(15);
    const second = await warm.load('shop', ['critical']);

    // Assess
    expect(first).toStrictEqual({ critical: ['a', 'b'] });
    expect(second).toStrictEqual({ critical: ['a', 'c'] });
    expect(inner.loads).toStrictEqual([['critical']]);
  });

  it('writes the first save through, then a changed set at most once per interval, the latest when due', async () => {
    // Prepare
    const { inner, warm, advance } = setup(600);
    await warm.load('shop', ['critical']);

    // Act: a change every 15 s for 20 minutes
    for (let i = 0; i < 80; i++) {
      await warm.save('shop', { critical: [`s${i}`] });
      advance(15);
    }

    // Assess: the first run's set, then the sets of 600 s and 1,200 s later
    expect(inner.saves).toStrictEqual([{ critical: ['s0'] }, { critical: ['s40'] }]);
    await warm.save('shop', { critical: ['s80'] });
    expect(inner.saves).toStrictEqual([{ critical: ['s0'] }, { critical: ['s40'] }, { critical: ['s80'] }]);
    expect(await inner.load('shop', ['critical'])).toStrictEqual({ critical: ['s80'] });
  });

  it('writes a tier it never synced at once, and keeps tiers and targets apart', async () => {
    // Prepare
    const { inner, warm } = setup();

    // Act: no load first (a run whose load failed), two targets
    await warm.save('shop', { critical: ['a'], standard: ['b'] });
    await warm.save('orders', { critical: ['c'] });
    await warm.save('shop', { critical: ['a2'] });

    // Assess
    expect(inner.saves).toStrictEqual([{ critical: ['a'], standard: ['b'] }, { critical: ['c'] }]);
    expect(await warm.load('shop', ['critical', 'standard'])).toStrictEqual({
      critical: ['a2'],
      standard: ['b'],
    });
    expect(await warm.load('orders', ['critical'])).toStrictEqual({ critical: ['c'] });
  });

  it('tries again on the next save after a failed write', async () => {
    // Prepare
    const { inner, warm, advance } = setup();
    let fail = true;
    const original = inner.save.bind(inner);
    inner.save = async (target, series) => {
      if (fail) throw new Error('throttled');
      return original(target, series);
    };

    // Act
    await expect(warm.save('shop', { critical: ['a'] })).rejects.toThrow('throttled');
    fail = false;
    advance(15);
    await warm.save('shop', { critical: ['b'] });

    // Assess
    expect(await inner.load('shop', ['critical'])).toStrictEqual({ critical: ['b'] });
  });
});
