import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  admitInto,
  decodeWindow,
  EMPTY_WINDOW,
  encodeWindow,
  type WindowState,
} from './cardinality-window.ts';
import { ChunkedBlobStore, type DynamoStats, type StateProblem } from './dynamodb-chunks.ts';
import type { CardinalityPolicy, CardinalityStore } from './ports.ts';

/**
 * Cardinality windows in the state table: one chunked `encodeWindow` value per scope, pk
 * `cardinality#<scope>`, with a TTL of twice the window (a window untouched that long holds only expired
 * entries). Admission is read, `admitInto`, conditional write; a lost race re-reads and merges, so the budget
 * holds across concurrent invocations.
 */

const ATTEMPTS = 4;

/** Options of `DynamoDbCardinalityStore`. */
export interface DynamoDbCardinalityStoreOptions {
  /**
   * Read manifests with strongly consistent reads on the first attempt (retries after a conflict always do).
   * @default false
   */
  readonly consistentRead?: boolean;
  /**
   * Upper bound of one DynamoDB call, in ms.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /** Told about damaged state (read as empty) and admissions decided without storing (`contended`). */
  readonly onProblem?: (problem: StateProblem) => void;
}

/** `CardinalityStore` on the DynamoDB state table. */
export class DynamoDbCardinalityStore implements CardinalityStore {
  private readonly blobs: ChunkedBlobStore<WindowState>;
  private readonly onProblem: (problem: StateProblem) => void;

  constructor(client: DynamoDBClient, tableName: string, options: DynamoDbCardinalityStoreOptions = {}) {
    this.onProblem = options.onProblem ?? (() => undefined);
    this.blobs = new ChunkedBlobStore(
      client,
      tableName,
      { encode: encodeWindow, decode: decodeWindow },
      {
        onProblem: this.onProblem,
        // The window's TTL is twice the window: replaced chunks expire within hours, for free.
        deleteSuperseded: false,
        ...(options.consistentRead === undefined ? {} : { consistentRead: options.consistentRead }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      },
    );
  }

  /**
   * No DynamoDB call when every candidate is in this process's copy of the window and none is due for a
   * refresh; otherwise up to 4 rounds of read, merge, conditional write. When all 4 lose to concurrent
   * writers it fails open for the series in this process's copy and refuses the new ones, and reports
   * `contended`.
   * @throws StateStoreError when DynamoDB fails
   */
  async admit(
    scope: string,
    candidates: ReadonlyMap<string, readonly string[]>,
    policy: CardinalityPolicy,
    nowMs: number,
  ): Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    const pk = `cardinality#${scope}`;
    const warm = this.blobs.cached(pk, nowMs);
    if (warm !== undefined) {
      const local = admitInto(warm, candidates, policy, nowMs);
      if (!local.changed && local.refused.size === 0) return local.refused;
    }
    const ttlSeconds = 2 * policy.windowSeconds;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await this.blobs.read(pk, nowMs, attempt > 0 ? true : undefined);
      const result = admitInto(stored ?? EMPTY_WINDOW, candidates, policy, nowMs);
      if (!result.changed) return result.refused;
      if ((await this.blobs.write(pk, result.state, nowMs, ttlSeconds)) !== 'conflict') return result.refused;
    }
    const known = this.blobs.cached(pk, nowMs) ?? EMPTY_WINDOW;
    const fallback = admitInto(known, candidates, { ...policy, maxSeriesPerMetric: 0 }, nowMs);
    let refusedCount = 0;
    for (const ids of fallback.refused.values()) refusedCount += ids.size;
    this.onProblem({
      kind: 'contended',
      pk,
      detail: `lost ${ATTEMPTS} conditional writes; admitted known series only, refused ${refusedCount}`,
    });
    return fallback.refused;
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
