/**
 * Relation sizes measured by earlier runs, so a run measures only what changed.
 *
 * Measuring a size opens the relation; in the fresh session of every run that builds its relation-cache entry,
 * most of a per-table query's database time on thousands of relations. A relation whose files (`relfilenode`)
 * and write and vacuum counters did not change since it was measured has the same size, so the per-relation
 * queries (`rememberSizes`) compute that signature from the catalog and the statistics, which open nothing, and
 * reuse the remembered size when it matches. What the counters cannot see — a transaction still writing (its
 * counts arrive when it ends), GIN and BRIN maintenance functions — is caught by a full measurement of every
 * relation at least every `fullPassSeconds`: the worst staleness of a reported size. Replicas never use it: their
 * statistics do not count what WAL replay writes, so a replica's sizes are measured on every run.
 *
 * One instance per process (the warm Lambda container, a long-running collector); it holds, per target,
 * database and query, the reported relations of the last run (about 150 bytes each), at most `maxRelations` in
 * all: beyond that the scopes kept least recently are forgotten (their next run measures everything), so a
 * container that serves many targets stays within its memory.
 */

/** What a query may reuse, as its three extra parameters. */
export interface RememberedSizes {
  readonly oids: readonly string[];
  readonly signatures: readonly string[];
  readonly sizes: readonly string[];
}

/** The arrays that make a query measure every relation. */
export const MEASURE_ALL: RememberedSizes = { oids: [], signatures: [], sizes: [] };

interface Entry {
  readonly sizes: RememberedSizes;
  /** When every relation was last measured, epoch ms. */
  readonly fullAtMs: number;
}

export interface SizeMemoryOptions {
  /**
   * Every relation is measured again at least this often. @default 3600 (a 300 s query measures everything
   * on one run in twelve)
   */
  readonly fullPassSeconds?: number;
  /** Relations remembered at most, over all scopes. @default 200000 (about 30 MB) */
  readonly maxRelations?: number;
  readonly now?: () => number;
}

/** A handle on one (target, database, query): what to pass, and what to keep after the run. */
export interface SizeScope {
  /** The parameters for this run: the remembered sizes, or `MEASURE_ALL` when a full pass is due. */
  readonly remembered: RememberedSizes;
  /** Whether this run measures every relation. */
  readonly full: boolean;
  /** Keeps the sizes a successful run reported (rows with `relid`, `size_signature`, `size_bytes`). */
  keep(rows: readonly Record<string, unknown>[]): void;
}

export class SizeMemory {
  readonly #entries = new Map<string, Entry>();
  readonly #fullPassMs: number;
  readonly #maxRelations: number;
  readonly #now: () => number;
  /** Relations held over all entries. */
  #held = 0;

  constructor(options: SizeMemoryOptions = {}) {
    const seconds = options.fullPassSeconds ?? 3600;
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new Error(`fullPassSeconds must be a number of seconds >= 0, got ${seconds}`);
    this.#fullPassMs = seconds * 1000;
    const max = options.maxRelations ?? 200_000;
    if (!Number.isInteger(max) || max < 0)
      throw new Error(`maxRelations must be a whole number >= 0, got ${max}`);
    this.#maxRelations = max;
    this.#now = options.now ?? Date.now;
  }

  /** Relations remembered now, over all scopes. */
  get size(): number {
    return this.#held;
  }

  #forget(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#held -= entry.sizes.oids.length;
    this.#entries.delete(key);
  }

  /** The scope of one query in one database of one target. */
  scope(target: string, database: string, query: string): SizeScope {
    const key = `${target}\u0000${database}\u0000${query}`;
    const entry = this.#entries.get(key);
    const now = this.#now();
    const full = entry === undefined || now - entry.fullAtMs >= this.#fullPassMs;
    return {
      remembered: full ? MEASURE_ALL : entry.sizes,
      full,
      keep: (rows) => {
        const oids: string[] = [];
        const signatures: string[] = [];
        const sizes: string[] = [];
        for (const row of rows) {
          const { relid, size_signature: signature, size_bytes: size } = row;
          if (relid === null || relid === undefined || signature === null || signature === undefined)
            continue;
          if (size === null || size === undefined) continue;
          oids.push(String(relid));
          signatures.push(String(signature));
          sizes.push(String(size));
        }
        this.#forget(key);
        this.#entries.set(key, {
          sizes: { oids, signatures, sizes },
          fullAtMs: full ? now : (entry?.fullAtMs ?? now),
        });
        this.#held += oids.length;
        // Map order is insertion order: the first entries are the ones kept least recently.
        for (const [oldest] of this.#entries) {
          if (this.#held <= this.#maxRelations) break;
          this.#forget(oldest);
        }
      },
    };
  }
}
