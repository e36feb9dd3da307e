import { createHash, randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { TABLE_KEYS } from './dynamodb-table.ts';

/**
 * One value per partition key, stored as a blob that may exceed DynamoDB's 400 KB item limit: a small
 * manifest item (`sk = 'm'`) names the current write id, and the blob lives in chunk items
 * `sk = 'c#<writeId>#<i>'`. Chunks are written before the manifest that points at them, and the manifest is
 * replaced with a condition on the write id it replaces, so readers never see a half-written value and two
 * writers cannot both win. Superseded chunks are deleted after the switch; chunks orphaned by a crash between
 * the two steps expire with their TTL.
 *
 * A process remembers the last value it read or wrote per key: when the manifest still names that write,
 * the chunks are not read again, so the steady state costs one small GetItem.
 */

/** Largest chunk payload: room is left under the 400 KB item limit for the keys and the TTL attribute. */
export const CHUNK_BYTES = 350 * 1024;

/** One BatchGetItem reads at most 100 keys, so a blob has at most 100 chunks (about 35 MB). */
export const MAX_CHUNKS = 100;

const MANIFEST_SK = 'm';
const BATCH_WRITE_MAX = 25;
const BATCH_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 50;
const { partitionKey: PK, sortKey: SK, ttl: TTL } = TABLE_KEYS;
// Short attribute names: every byte of an item is billed.
const WRITE_ID = 'wid';
const DIGEST = 'dig';
const CHUNKS = 'n';
const BYTES = 'len';
const WRITTEN_AT = 'wat';
const SEQ = 'seq';
const DATA = 'd';

/** DynamoDB calls and capacity units consumed since construction or the last reset. */
export interface DynamoStats {
  readonly calls: number;
  readonly readUnits: number;
  readonly writeUnits: number;
}

/** Something wrong with stored state that the store worked around instead of failing the run. */
export interface StateProblem {
  /**
   * `damaged`: the stored value was unreadable (bad manifest, missing chunk, digest mismatch, undecodable
   * bytes) and was treated as absent. `contended`: concurrent writers kept winning and the write was given up.
   */
  readonly kind: 'damaged' | 'contended';
  /** The partition key concerned. */
  readonly pk: string;
  readonly detail: string;
}

/** A DynamoDB call failed (after the SDK's own retries) or timed out. */
export class StateStoreError extends Error {
  override readonly name = 'StateStoreError';
}

/** Turns a store's values into the bytes kept in DynamoDB and back. */
export interface BlobCodec<T> {
  encode(value: T): Uint8Array;
  /** Throws on bytes `encode` did not produce; the store then treats the state as damaged. */
  decode(bytes: Uint8Array): T;
  /** A cheap equality test that lets `write` skip encoding a value equal to the stored one. */
  equal?(a: T, b: T): boolean;
}

/** Options of `ChunkedBlobStore`. */
export interface ChunkedBlobStoreOptions {
  /**
   * Read manifests with strongly consistent reads (1 instead of 0.5 read units). Chunk reads are always
   * consistent: a chunk is read right after the manifest that names it became visible.
   * @default false
   */
  readonly consistentRead?: boolean;
  /**
   * Upper bound of one DynamoDB call, in ms.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * Rewrite an unchanged value once it is this old, so that its TTL never expires live state.
   * @default never
   */
  readonly refreshAfterSeconds?: number;
  /** Told about damaged state and given-up writes. */
  readonly onProblem?: (problem: StateProblem) => void;
  /**
   * Delete a value's chunks once a newer write replaced them. `false` leaves them to their TTL: a delete costs the
   * write units of the item, a TTL delete nothing — worth it when the TTL is short.
   * @default true
   */
  readonly deleteSuperseded?: boolean;
}

/** `write`'s result: `conflict` means another writer replaced the value; re-read, merge and retry. */
export type WriteOutcome = 'written' | 'unchanged' | 'conflict';

interface Manifest {
  readonly writeId: string;
  readonly digest: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly writtenAtMs: number;
  /** Counts writes of this key, so a lagging eventually consistent read is recognised as older. */
  readonly seq: number;
  readonly expiresAt: number;
}

/** What this process last saw of one key. */
interface Known<T> {
  /** The stored manifest's write id, the precondition of the next write; `undefined` when there was none. */
  readonly writeId: string | undefined;
  /** Parsed manifest; `undefined` when absent, expired or damaged. */
  readonly manifest: Manifest | undefined;
  /** Decoded value; `undefined` when absent or damaged. */
  readonly value: T | undefined;
}

/** Values of type `T` in the state table, chunked, verified, cached per process. */
export class ChunkedBlobStore<T> {
  private readonly consistentRead: boolean;
  private readonly timeoutMs: number;
  private readonly refreshAfterMs: number;
  private readonly onProblem: (problem: StateProblem) => void;
  private readonly deleteSuperseded: boolean;
  private readonly known = new Map<string, Known<T>>();
  private counters = { calls: 0, readUnits: 0, writeUnits: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly codec: BlobCodec<T>,
    options: ChunkedBlobStoreOptions = {},
  ) {
    this.consistentRead = options.consistentRead ?? false;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.refreshAfterMs = (options.refreshAfterSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    this.onProblem = options.onProblem ?? (() => undefined);
    this.deleteSuperseded = options.deleteSuperseded ?? true;
  }

  /**
   * The stored value of `pk`, or `undefined` when there is none, it expired (TTL sweeps lag: expired items
   * are filtered here) or it is damaged (reported to `onProblem`, never thrown). One GetItem when the
   * manifest names the write this process already holds, plus one BatchGetItem of the chunks otherwise.
   * @throws StateStoreError when DynamoDB fails
   */
  async read(pk: string, nowMs: number, consistent = this.consistentRead): Promise<T | undefined> {
    const known = this.warm(pk, nowMs);
    const output = await this.call('GetItem', pk, (abortSignal) =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PK]: { S: pk }, [SK]: { S: MANIFEST_SK } },
          ConsistentRead: consistent,
          ReturnConsumedCapacity: 'TOTAL',
        }),
        { abortSignal },
      ),
    );
    this.countRead(output.ConsumedCapacity, output.Item === undefined ? [] : [output.Item], consistent);
    const item = output.Item;
    if (item === undefined) return this.remember(pk, undefined, undefined, undefined);
    const writeId = item[WRITE_ID]?.S;
    const manifest = parseManifest(item);
    if (manifest === undefined) return this.damaged(pk, writeId, undefined, 'unreadable manifest');
    if (manifest.expiresAt <= Math.floor(nowMs / 1000))
      return this.remember(pk, writeId, undefined, undefined);
    if (known?.manifest !== undefined) {
      const same = known.manifest.writeId === manifest.writeId && known.manifest.digest === manifest.digest;
      // A lower seq written earlier is a lagging eventually consistent read of a write this process has
      // already seen replaced; a lower seq written later means the key was recreated after its TTL.
      const older = manifest.seq < known.manifest.seq && manifest.writtenAtMs <= known.manifest.writtenAtMs;
      if (same || older) return known.value;
    }
    const parts = await this.readChunks(pk, manifest);
    const missing = parts.indexOf(undefined);
    // A writer that replaced this manifest meanwhile deletes its chunks: rare, and reported the same way.
    if (missing >= 0)
      return this.damaged(pk, writeId, manifest, `chunk ${missing} of ${manifest.chunks} missing`);
    const blob = Buffer.concat(parts.filter((part) => part !== undefined));
    if (blob.length !== manifest.bytes || digestOf(blob) !== manifest.digest) {
      return this.damaged(pk, writeId, manifest, 'digest mismatch');
    }
    let value: T;
    try {
      value = this.codec.decode(blob);
    } catch (error) {
      return this.damaged(pk, writeId, manifest, `undecodable: ${messageOf(error)}`);
    }
    return this.remember(pk, writeId, manifest, value);
  }

  /** The value this process last read or wrote for `pk`, while it has not expired; no DynamoDB call. */
  cached(pk: string, nowMs: number): T | undefined {
    return this.warm(pk, nowMs)?.value;
  }

  /**
   * Stores `value` for `pk` with a TTL of `ttlSeconds`, unless it equals the value last read or written here
   * and that write is younger than `refreshAfterSeconds` (then no call at all). Chunks first, then the
   * manifest, conditional on the write id last seen here; on `conflict` the new chunks are deleted again.
   * @throws StateStoreError when DynamoDB fails, or the value needs more than `MAX_CHUNKS` chunks
   */
  async write(pk: string, value: T, nowMs: number, ttlSeconds: number): Promise<WriteOutcome> {
    const known = this.warm(pk, nowMs);
    const previous = known?.manifest;
    // A damaged state (manifest without a value) is rewritten even when its digest matches: a chunk is bad.
    const fresh =
      previous !== undefined &&
      known?.value !== undefined &&
      nowMs - previous.writtenAtMs < this.refreshAfterMs;
    if (fresh && known?.value !== undefined && this.codec.equal?.(known.value, value) === true) {
      return 'unchanged';
    }
    const blob = this.codec.encode(value);
    const digest = digestOf(blob);
    if (fresh && previous.digest === digest) {
      this.known.set(pk, { writeId: previous.writeId, manifest: previous, value });
      return 'unchanged';
    }
    const chunks = Math.max(1, Math.ceil(blob.length / CHUNK_BYTES));
    if (chunks > MAX_CHUNKS) {
      throw new StateStoreError(`${pk}: ${blob.length} bytes need ${chunks} chunks, more than ${MAX_CHUNKS}`);
    }
    const manifest: Manifest = {
      writeId: randomBytes(9).toString('base64url'),
      digest,
      chunks,
      bytes: blob.length,
      writtenAtMs: nowMs,
      seq: (previous?.seq ?? 0) + 1,
      expiresAt: Math.floor(nowMs / 1000) + ttlSeconds,
    };
    const expires: AttributeValue = { N: String(manifest.expiresAt) };
    const puts: WriteRequest[] = [];
    for (let i = 0; i < chunks; i++) {
      const data = blob.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
      const item = { ...chunkKey(pk, manifest.writeId, i), [DATA]: { B: data }, [TTL]: expires };
      puts.push({ PutRequest: { Item: item } });
    }
    await this.batchWrite(pk, puts);
    if (!(await this.putManifest(pk, manifest, known?.writeId))) {
      // Best effort: what is left behind expires with its TTL.
      await this.deleteChunks(pk, manifest.writeId, chunks).catch(() => undefined);
      return 'conflict';
    }
    this.known.set(pk, { writeId: manifest.writeId, manifest, value });
    if (previous !== undefined && this.deleteSuperseded) {
      // The new value is in place whatever happens here; chunks a failed delete leaves expire with their TTL.
      await this.deleteChunks(pk, previous.writeId, previous.chunks).catch(() => undefined);
    }
    return 'written';
  }

  /**
   * Calls made and capacity units consumed. Read units of responses without `ConsumedCapacity` (emulators
   * omit it for BatchGetItem) are computed from the item sizes by DynamoDB's rules.
   */
  stats(): DynamoStats {
    return { ...this.counters };
  }

  /** Starts counting from zero. */
  resetStats(): void {
    this.counters = { calls: 0, readUnits: 0, writeUnits: 0 };
  }

  private warm(pk: string, nowMs: number): Known<T> | undefined {
    const known = this.known.get(pk);
    if (known?.manifest !== undefined && known.manifest.expiresAt <= Math.floor(nowMs / 1000))
      return undefined;
    return known;
  }

  private remember(
    pk: string,
    writeId: string | undefined,
    manifest: Manifest | undefined,
    value: T | undefined,
  ): T | undefined {
    this.known.set(pk, { writeId, manifest, value });
    return value;
  }

  private damaged(
    pk: string,
    writeId: string | undefined,
    manifest: Manifest | undefined,
    detail: string,
  ): undefined {
    this.onProblem({ kind: 'damaged', pk, detail });
    // Keeping the damaged write id lets the next write replace it instead of conflicting with it forever.
    this.known.set(pk, { writeId, manifest, value: undefined });
    return undefined;
  }

  /** The chunk payloads in order; `undefined` where a chunk is missing or not binary. */
  private async readChunks(pk: string, manifest: Manifest): Promise<(Uint8Array | undefined)[]> {
    const parts: (Uint8Array | undefined)[] = new Array(manifest.chunks).fill(undefined);
    let pending: Record<string, AttributeValue>[] = [];
    for (let i = 0; i < manifest.chunks; i++) pending.push(chunkKey(pk, manifest.writeId, i));
    const prefix = `c#${manifest.writeId}#`;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) {
        throw new StateStoreError(
          `${pk}: ${pending.length} chunk reads unprocessed after ${attempt} attempts`,
        );
      }
      if (attempt > 0) await backoff(attempt);
      const keys = pending;
      const output = await this.call('BatchGetItem', pk, (abortSignal) =>
        this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
            ReturnConsumedCapacity: 'TOTAL',
          }),
          { abortSignal },
        ),
      );
      const items = output.Responses?.[this.tableName] ?? [];
      this.countRead(output.ConsumedCapacity, items, true);
      for (const item of items) {
        const sk = item[SK]?.S ?? '';
        const index = Number(sk.slice(prefix.length));
        if (sk.startsWith(prefix) && Number.isInteger(index) && index >= 0 && index < parts.length) {
          parts[index] = item[DATA]?.B;
        }
      }
      pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return parts;
  }

  /** `false` when another writer's manifest is in place (ConditionalCheckFailed). */
  private async putManifest(
    pk: string,
    manifest: Manifest,
    previousWriteId: string | undefined,
  ): Promise<boolean> {
    const item: Record<string, AttributeValue> = {
      [PK]: { S: pk },
      [SK]: { S: MANIFEST_SK },
      [WRITE_ID]: { S: manifest.writeId },
      [DIGEST]: { S: manifest.digest },
      [CHUNKS]: { N: String(manifest.chunks) },
      [BYTES]: { N: String(manifest.bytes) },
      [WRITTEN_AT]: { N: String(manifest.writtenAtMs) },
      [SEQ]: { N: String(manifest.seq) },
      [TTL]: { N: String(manifest.expiresAt) },
    };
    const written = await this.call('PutItem', pk, async (abortSignal) => {
      try {
        return await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: item,
            // No manifest yet, the one this process last saw, or one whose TTL has passed but that the sweep
            // has not deleted yet: any other manifest belongs to a writer this one has not seen.
            ConditionExpression: 'attribute_not_exists(#wid) OR #wid = :prev OR #ttl <= :now',
            ExpressionAttributeNames: { '#wid': WRITE_ID, '#ttl': TTL },
            ExpressionAttributeValues: {
              ':prev': { S: previousWriteId ?? '-' },
              ':now': { N: String(Math.floor(manifest.writtenAtMs / 1000)) },
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
          { abortSignal },
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return undefined;
        throw error;
      }
    });
    // A failed conditional write is billed too, and its error carries no ConsumedCapacity: 1 unit, as the
    // manifest is under 1 KB.
    this.counters.writeUnits += written === undefined ? 1 : unitsOf(written.ConsumedCapacity, 'write');
    return written !== undefined;
  }

  private async deleteChunks(pk: string, writeId: string, chunks: number): Promise<void> {
    const deletes: WriteRequest[] = [];
    for (let i = 0; i < chunks; i++) deletes.push({ DeleteRequest: { Key: chunkKey(pk, writeId, i) } });
    await this.batchWrite(pk, deletes);
  }

  /** BatchWriteItem in groups of 25, in parallel, each retrying its unprocessed items a bounded number of times. */
  private async batchWrite(pk: string, requests: readonly WriteRequest[]): Promise<void> {
    const groups: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX)
      groups.push(requests.slice(i, i + BATCH_WRITE_MAX));
    await Promise.all(
      groups.map(async (group) => {
        let pending = group;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt === BATCH_ATTEMPTS) {
            throw new StateStoreError(
              `${pk}: ${pending.length} writes unprocessed after ${attempt} attempts`,
            );
          }
          if (attempt > 0) await backoff(attempt);
          const items = pending;
          const output = await this.call('BatchWriteItem', pk, (abortSignal) =>
            this.client.send(
              new BatchWriteItemCommand({
                RequestItems: { [this.tableName]: items },
                ReturnConsumedCapacity: 'TOTAL',
              }),
              { abortSignal },
            ),
          );
          this.counters.writeUnits += unitsOf(output.ConsumedCapacity, 'write');
          pending = output.UnprocessedItems?.[this.tableName] ?? [];
        }
      }),
    );
  }

  private async call<R>(
    operation: string,
    pk: string,
    send: (abortSignal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    this.counters.calls++;
    try {
      return await send(AbortSignal.timeout(this.timeoutMs));
    } catch (error) {
      throw new StateStoreError(`${operation} ${pk} in ${this.tableName} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private countRead(
    consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
    items: readonly Record<string, AttributeValue>[],
    consistent: boolean,
  ): void {
    if (consumed !== undefined) {
      this.counters.readUnits += unitsOf(consumed, 'read');
      return;
    }
    // DynamoDB rounds every item of a batch up to 4 KB on its own; a miss still costs one unit.
    let units = 0;
    for (const item of items) units += Math.max(1, Math.ceil(itemBytes(item) / 4096));
    this.counters.readUnits += Math.max(1, units) * (consistent ? 1 : 0.5);
  }
}

function chunkKey(pk: string, writeId: string, index: number): Record<string, AttributeValue> {
  return { [PK]: { S: pk }, [SK]: { S: `c#${writeId}#${index}` } };
}

function parseManifest(item: Record<string, AttributeValue>): Manifest | undefined {
  const writeId = item[WRITE_ID]?.S;
  const digest = item[DIGEST]?.S;
  const chunks = Number(item[CHUNKS]?.N);
  const bytes = Number(item[BYTES]?.N);
  const writtenAtMs = Number(item[WRITTEN_AT]?.N);
  const seq = Number(item[SEQ]?.N);
  const expiresAt = Number(item[TTL]?.N);
  if (writeId === undefined || digest === undefined) return undefined;
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > MAX_CHUNKS) return undefined;
  if (![bytes, writtenAtMs, seq, expiresAt].every(Number.isSafeInteger)) return undefined;
  return { writeId, digest, chunks, bytes, writtenAtMs, seq, expiresAt };
}

/** 128 bits of SHA-256, base64url: enough to tell two states apart and to catch damaged chunks. */
function digestOf(blob: Uint8Array): string {
  return createHash('sha256').update(blob).digest('base64url').slice(0, 22);
}

function unitsOf(
  consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
  kind: 'read' | 'write',
): number {
  let units = 0;
  for (const entry of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
    units +=
      (kind === 'read' ? entry.ReadCapacityUnits : entry.WriteCapacityUnits) ?? entry.CapacityUnits ?? 0;
  }
  return units;
}

/** An item's size as DynamoDB bills it, for the attribute types this store writes. */
function itemBytes(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (value.S !== undefined) size += Buffer.byteLength(value.S);
    else if (value.B !== undefined) size += value.B.byteLength;
    else if (value.N !== undefined) size += Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
  }
  return size;
}

function backoff(attempt: number): Promise<void> {
  const ms = BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
