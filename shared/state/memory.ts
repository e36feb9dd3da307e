import type { Tier } from '../model/metrics.ts';
import { admitInto, EMPTY_WINDOW, type WindowState } from './cardinality-window.ts';
import type { CardinalityPolicy, CardinalityStore, SeriesByTier, SeriesStateStore } from './ports.ts';

/**
 * In-process adapters of the state ports, for one-off local runs (`pgotel collect`) and tests: the same
 * semantics as the DynamoDB adapters, gone when the process exits.
 */

/** `SeriesStateStore` in a map. */
export class MemorySeriesStateStore implements SeriesStateStore {
  private readonly keys = new Map<string, readonly string[]>();

  /** The keys last saved for each of `tiers`. */
  async load(target: string, tiers: readonly Tier[]): Promise<SeriesByTier> {
    const out: SeriesByTier = {};
    for (const tier of tiers) {
      const keys = this.keys.get(slot(target, tier));
      if (keys !== undefined) out[tier] = keys;
    }
    return out;
  }

  /** Keeps a copy of each given tier's keys. */
  async save(target: string, series: SeriesByTier): Promise<void> {
    for (const [tier, keys] of Object.entries(series)) {
      if (keys !== undefined) this.keys.set(slot(target, tier), [...keys]);
    }
  }
}

/** `CardinalityStore` in a map: `admitInto` over one window per scope. */
export class MemoryCardinalityStore implements CardinalityStore {
  private readonly windows = new Map<string, WindowState>();

  /** Admits into the scope's window and keeps the result. */
  async admit(
    scope: string,
    candidates: ReadonlyMap<string, readonly string[]>,
    policy: CardinalityPolicy,
    nowMs: number,
  ): Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    const result = admitInto(this.windows.get(scope) ?? EMPTY_WINDOW, candidates, policy, nowMs);
    this.windows.set(scope, result.state);
    return result.refused;
  }
}

function slot(target: string, tier: string): string {
  return `${target}\n${tier}`;
}
