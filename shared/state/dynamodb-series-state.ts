import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Tier } from '../model/metrics.ts';
import {
  type BlobCodec,
  ChunkedBlobStore,
  type DynamoStats,
  type StateProblem,
  StateStoreError,
} from './dynamodb-chunks.ts';
import type { SeriesByTier, SeriesStateStore } from './ports.ts';

/**
 * Series state in the state table: one chunked value per (target, tier), pk `series#<target>#<tier>`, holding
 * the keys joined with `\n` (a `seriesKey` is JSON, which escapes every newline) and Brotli-compressed.
 * Brotli rather than gzip: for 100,000 table series it makes a blob about a third of gzip's (so a third of
 * the write units), in about the time gzip -6 takes, because its window spans the repeats between databases.
 *
 * An unchanged tier is not written, but a state last written more than a day ago (or half the TTL, if that
 * is shorter) is rewritten even when unchanged, so that DynamoDB's TTL never removes the state of a target
 * that is still collected: TTL only cleans up after targets that went away.
 */

const DAY_SECONDS = 86_400;

/** Options of `DynamoDbSeriesStateStore`. */
export interface DynamoDbSeriesStateStoreOptions {
  /**
   * Lifetime of a stored state after its last write (DynamoDB TTL).
   * @default 604800 (7 days)
   */
  readonly ttlSeconds?: number;
  /**
   * Read manifests with strongly consistent reads.
   * @default false
   */
  readonly consistentRead?: boolean;
  /**
   * Upper bound of one DynamoDB call, in ms.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /** Told about damaged state (loaded as absent) and saves given up to a concurrent writer. */
  readonly onProblem?: (problem: StateProblem) => void;
  /**
   * The clock, epoch ms.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** `SeriesStateStore` on the DynamoDB state table. */
export class DynamoDbSeriesStateStore implements SeriesStateStore {
  private readonly blobs: ChunkedBlobStore<readonly string[]>;
  private readonly ttlSeconds: number;
  private readonly onProblem: (problem: StateProblem) => void;
  private readonly now: () => number;

  constructor(client: DynamoDBClient, tableName: string, options: DynamoDbSeriesStateStoreOptions = {}) {
    this.ttlSeconds = options.ttlSeconds ?? 7 * DAY_SECONDS;
    this.onProblem = options.onProblem ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.blobs = new ChunkedBlobStore(client, tableName, SERIES_CODEC, {
      refreshAfterSeconds: Math.min(DAY_SECONDS, this.ttlSeconds / 2),
      onProblem: this.onProblem,
      ...(options.consistentRead === undefined ? {} : { consistentRead: options.consistentRead }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  /**
   * Per tier one GetItem of the manifest, plus one BatchGetItem of the chunks unless this process already
   * holds that write. Damaged state loads as absent. Keys come back in the order of the write that stored
   * them (saving the same set in another order writes nothing).
   * @throws StateStoreError when DynamoDB fails
   */
  async load(target: string, tiers: readonly Tier[]): Promise<SeriesByTier> {
    const nowMs = this.now();
    const loaded = await Promise.all(tiers.map((tier) => this.blobs.read(seriesPk(target, tier), nowMs)));
    const out: SeriesByTier = {};
    tiers.forEach((tier, i) => {
      const keys = loaded[i];
      if (keys !== undefined) out[tier] = keys;
    });
    return out;
  }

  /**
   * Writes each given tier whose keys (as a set) differ from the ones last loaded or saved here, or whose
   * stored state is due for its TTL rewrite. A write that loses to a concurrent writer is retried once after
   * re-reading (the later run's keys win); losing twice is reported as `contended` and not thrown.
   * @throws StateStoreError when DynamoDB fails
   */
  async save(target: string, series: SeriesByTier): Promise<void> {
    const nowMs = this.now();
    const writes = Object.entries(series).map(async ([tier, keys]) => {
      if (keys === undefined) return;
      const pk = seriesPk(target, tier);
      const own = [...keys];
      if ((await this.blobs.write(pk, own, nowMs, this.ttlSeconds)) !== 'conflict') return;
      await this.blobs.read(pk, nowMs, true);
      if ((await this.blobs.write(pk, own, nowMs, this.ttlSeconds)) !== 'conflict') return;
      this.onProblem({ kind: 'contended', pk, detail: 'lost to a concurrent writer twice; not saved' });
    });
    await Promise.all(writes);
  }

  /** DynamoDB calls and capacity units since construction or `resetStats`. */
  stats(): DynamoStats {
    return this.blobs.stats();
  }

  /** Starts counting from zero. */
  resetStats(): void {
    this.blobs.resetStats();
  }
}

function seriesPk(target: string, tier: string): string {
  return `series#${target}#${tier}`;
}

const SERIES_CODEC: BlobCodec<readonly string[]> = {
  encode(keys) {
    // The keys go straight into one buffer: joined first, 52,000 keys were an 18 MB string on the heap besides the
    // buffer, at the run's memory peak.
    let length = Math.max(0, keys.length - 1);
    for (const key of keys) {
      if (key.includes('\n')) throw new StateStoreError(`series key with a newline: ${key.slice(0, 80)}`);
      length += Buffer.byteLength(key, 'utf8');
    }
    const text = Buffer.allocUnsafe(length);
    let offset = 0;
    for (const [i, key] of keys.entries()) {
      if (i > 0) offset = text.writeUInt8(0x0a, offset);
      offset += text.write(key, offset, 'utf8');
    }
    return brotliCompressSync(text, {
      params: {
        // Quality 5 is where Brotli's size drops (measured on 100,000 table series); higher only costs time.
        [constants.BROTLI_PARAM_QUALITY]: 5,
        [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
      },
    });
  },
  decode(bytes) {
    const text = brotliDecompressSync(bytes).toString('utf8');
    return text === '' ? [] : text.split('\n');
  },
  equal: sameKeys,
};

/** Equal as sets, assuming no duplicates (series keys of one run are distinct); cheap when the order is kept. */
function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i === a.length) return true;
  const set = new Set(a);
  return b.every((key) => set.has(key));
}
