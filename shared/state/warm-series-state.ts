import type { Tier } from '../model/metrics.ts';
import type { SeriesByTier, SeriesStateStore } from './ports.ts';

/** Options of {@link WarmSeriesStateStore}. */
export interface WarmSeriesStateOptions {
  /**
   * After its first write, a changed series set is written through at most this often per (target, tier); in
   * between it is held by the container only. @default 600
   */
  readonly persistEverySeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Held {
  readonly keys: readonly string[];
  /** When this container last wrote the tier to the inner store; -Infinity: never. */
  readonly syncedAtMs: number;
}

/**
 * The series state a warm container keeps between runs, in front of the persistent store (DynamoDB). Runs of a
 * target that land on the same container read nothing and, after the first, write a changed set through at most
 * every `persistEverySeconds`: a demo database whose session and statement series change every few runs otherwise
 * pays a DynamoDB write (and the delete of the old chunk) for each change — most of its monthly cost.
 *
 * What it gives up, bounded: a container that did not run a target's previous run (a cold start, a second
 * container) reads a state up to `persistEverySeconds` old. Its stale markers are then computed against that
 * older set: a series that appeared and vanished in between gets no marker (Prometheus drops it from instant
 * queries after its 5-minute lookback, as without stale markers), and a marker for a series that was already
 * marked is harmless. A series that is present is never marked.
 */
export class WarmSeriesStateStore implements SeriesStateStore {
  private readonly held = new Map<string, Held>();
  private readonly persistEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: SeriesStateStore,
    options: WarmSeriesStateOptions = {},
  ) {
    this.persistEveryMs = (options.persistEverySeconds ?? 600) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Tiers this container holds come from memory; the others from the inner store, once. */
  async load(target: string, tiers: readonly Tier[]): Promise<SeriesByTier> {
    const out: SeriesByTier = {};
    const missing: Tier[] = [];
    for (const tier of tiers) {
      const held = this.held.get(slot(target, tier));
      if (held === undefined) missing.push(tier);
      else out[tier] = held.keys;
    }
    if (missing.length === 0) return out;
    const loaded = await this.inner.load(target, missing);
    for (const tier of missing) {
      const keys = loaded[tier];
      if (keys !== undefined) out[tier] = keys;
      // Of unknown age: the first save after it writes through (and the inner store skips it if unchanged).
      this.held.set(slot(target, tier), { keys: keys ?? [], syncedAtMs: Number.NEGATIVE_INFINITY });
    }
    return out;
  }

  /**
   * Holds every given tier; writes through the tiers not synced with the inner store for `persistEverySeconds`
   * (the inner store itself skips a tier whose keys did not change). A failed write is thrown and retried by the
   * next save.
   */
  async save(target: string, series: SeriesByTier): Promise<void> {
    const at = this.now();
    const due: SeriesByTier = {};
    const dueTiers: Tier[] = [];
    for (const [tier, keys] of Object.entries(series) as [Tier, readonly string[] | undefined][]) {
      if (keys === undefined) continue;
      const previous = this.held.get(slot(target, tier));
      const syncedAtMs = previous?.syncedAtMs ?? Number.NEGATIVE_INFINITY;
      this.held.set(slot(target, tier), { keys, syncedAtMs });
      if (at - syncedAtMs >= this.persistEveryMs) {
        due[tier] = keys;
        dueTiers.push(tier);
      }
    }
    if (dueTiers.length === 0) return;
    await this.inner.save(target, due);
    for (const tier of dueTiers) {
      const held = this.held.get(slot(target, tier));
      if (held !== undefined) this.held.set(slot(target, tier), { keys: held.keys, syncedAtMs: at });
    }
  }
}

function slot(target: string, tier: string): string {
  return `${target}\n${tier}`;
}
