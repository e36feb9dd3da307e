/**
 * Replay: re-send archived collections for a time range (after a remote-write outage, or to backfill a new
 * Prometheus). I/O is injected: the store to read from, and `send` for the destination.
 *
 * Objects go out one per `send` call, oldest first, so a replayed request never mixes with fresh data
 * (Prometheus rejects a whole request for one out-of-order sample) and each series moves forward in time.
 *
 * Two kinds of objects are read: per-run objects (`<cluster>/<target>/<tier>-<time>.binpb`, the CLI's archives),
 * and stream objects (the deployed collector's Firehose archive: many runs of the fleet concatenated in one
 * object, partitioned by when the stream received them).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readArchivedObject } from '../archive/archive.ts';
import { parseArchiveKey, parseStreamKey, partitionPrefixes } from '../archive/s3-key.ts';
import type { ArchiveStore } from '../archive/store.ts';
import type { MetricBatch } from '../model/metrics.ts';

/** What `send` reports for one archive object. */
export interface ReplaySendResult {
  readonly ok: boolean;
  readonly samplesSent: number;
  readonly samplesRejected: number;
  readonly error?: string;
}

/** Persistence of the replay position: the last key up to which everything was sent. */
export interface ReplayCheckpoint {
  load(): Promise<string | undefined>;
  save(lastKey: string): Promise<void>;
}

/** Progress after each object. */
export interface ReplayProgress {
  readonly key: string;
  /** 1-based position of this object among the `total` objects to send. */
  readonly index: number;
  readonly total: number;
  /** Running totals. */
  readonly samplesSent: number;
  readonly samplesRejected: number;
}

/** Inputs of `replay`. */
export interface ReplayOptions {
  readonly store: ArchiveStore;
  /** The archive's key prefix (as from `openArchiveStore`). */
  readonly prefix: string;
  /** Inclusive range of data time, epoch ms. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Only this target's objects. */
  readonly target?: string;
  /** Sends the batches of one object; may throw (counted as a failed object). */
  readonly send: (batches: MetricBatch[], key: string) => Promise<ReplaySendResult>;
  /** Resume after the last fully sent key; saved after each object while no object has failed yet. */
  readonly checkpoint?: ReplayCheckpoint;
  readonly onProgress?: (progress: ReplayProgress) => void;
  /**
   * Objects fetched ahead of the one being sent.
   * @default 4
   */
  readonly prefetch?: number;
}

/** Outcome of a replay. */
export interface ReplayReport {
  /** Objects with data in range that were attempted (sent or failed) in this run. */
  readonly objects: number;
  readonly samplesSent: number;
  readonly samplesRejected: number;
  /** Keys that could not be read or sent, in replay order. */
  readonly failedObjects: string[];
  /** Why each failed object failed, in the same order. */
  readonly errors: { readonly key: string; readonly error: string }[];
  /** The checkpoint this run started after, if any. */
  readonly resumedAfter?: string;
}

/**
 * How far a stream object's partition may lie from the data it holds: the stream buffers records for up to
 * 900 s before it writes an object (partitioned by the oldest record's arrival), and a record arrives up to a
 * Lambda timeout (900 s at most) after its measurement. A minute on top for clock skew.
 */
export const STREAM_PARTITION_SLACK_MS = 16 * 60_000;

interface Candidate {
  readonly key: string;
  /** Partition minute, epoch ms. */
  readonly timeMs: number;
  /** Per-run objects: the scheduled time; stream objects: the partition minute. */
  readonly scheduledAtMs: number;
  /** A stream object: holds many runs, possibly of other targets, possibly duplicated records. */
  readonly stream: boolean;
}

/** The candidate a key names, or undefined for a key that is neither kind of archive object. */
function candidateOf(key: string): Candidate | undefined {
  const run = parseArchiveKey(key);
  if (run !== undefined) return { key, timeMs: run.timeMs, scheduledAtMs: run.scheduledAtMs, stream: false };
  const stream = parseStreamKey(key);
  if (stream !== undefined) return { key, timeMs: stream.timeMs, scheduledAtMs: stream.timeMs, stream: true };
  return undefined;
}

type Fetched = { readonly batches: MetricBatch[] } | { readonly error: string };

/**
 * Replays every archived object whose data time lies in [fromMs, toMs]. Order: partition minute, then
 * scheduled time, then key (data time at the precision the key carries; within an object every point
 * shares one time). Batches whose exact time falls outside the range are not sent.
 * A failed object is reported and replay continues; the checkpoint then stays before it, so a resumed
 * run retries it (and re-sends what followed, which Prometheus accepts as duplicates of equal value).
 */
export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const { store, fromMs, toMs } = options;
  const resumedAfter = options.checkpoint === undefined ? undefined : await options.checkpoint.load();
  let candidates = await listCandidates(options);
  if (resumedAfter !== undefined) {
    const mark = candidateOf(resumedAfter);
    if (mark === undefined)
      throw new CheckpointError(`replay checkpoint ${quoted(resumedAfter)} is not an archive key`);
    candidates = candidates.filter((c) => compareCandidates(c, mark) > 0);
  }

  const prefetch = Math.max(1, options.prefetch ?? 4);
  const inFlight: Promise<Fetched>[] = [];
  const fetchAt = (i: number): void => {
    const c = candidates[i];
    if (c !== undefined) inFlight[i] = fetchObject(store, c.key);
  };
  for (let i = 0; i < prefetch; i++) fetchAt(i);

  let objects = 0;
  let samplesSent = 0;
  let samplesRejected = 0;
  let contiguous = true;
  const failedObjects: string[] = [];
  const errors: { key: string; error: string }[] = [];
  const fail = (key: string, error: string): void => {
    failedObjects.push(key);
    errors.push({ key, error });
    contiguous = false;
  };

  const streamed = new Set<string>();
  for (const [i, candidate] of candidates.entries()) {
    fetchAt(i + prefetch);
    const fetched = await (inFlight[i] ?? fetchObject(store, candidate.key));
    delete inFlight[i];
    if ('error' in fetched) {
      objects++;
      fail(candidate.key, fetched.error);
    } else {
      let batches = fetched.batches.filter((b) => b.timeMs >= fromMs && b.timeMs <= toMs);
      if (candidate.stream) batches = streamBatches(batches, options.target, streamed);
      if (batches.length > 0) {
        objects++;
        try {
          const result = await options.send(batches, candidate.key);
          samplesSent += result.samplesSent;
          samplesRejected += result.samplesRejected;
          if (!result.ok) fail(candidate.key, result.error ?? 'send failed');
        } catch (error) {
          fail(candidate.key, error instanceof Error ? error.message : String(error));
        }
      }
    }
    if (contiguous) await options.checkpoint?.save(candidate.key);
    options.onProgress?.({
      key: candidate.key,
      index: i + 1,
      total: candidates.length,
      samplesSent,
      samplesRejected,
    });
  }

  const report = { objects, samplesSent, samplesRejected, failedObjects, errors };
  return resumedAfter === undefined ? report : { ...report, resumedAfter };
}

/** Lists the partitions covering the range and keeps parseable keys in range (and of the target). */
async function listCandidates(options: ReplayOptions): Promise<Candidate[]> {
  const firstMinute = Math.floor(options.fromMs / 60_000) * 60_000;
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const from = options.fromMs - STREAM_PARTITION_SLACK_MS;
  const to = options.toMs + STREAM_PARTITION_SLACK_MS;
  for (const partition of partitionPrefixes(options.prefix, from, to)) {
    for await (const key of options.store.list(partition)) {
      if (seen.has(key)) continue;
      const run = parseArchiveKey(key);
      if (run !== undefined) {
        if (run.timeMs < firstMinute || run.timeMs > options.toMs) continue;
        if (options.target !== undefined && run.target !== options.target) continue;
      } else {
        const stream = parseStreamKey(key);
        if (stream === undefined || stream.timeMs < from || stream.timeMs > to) continue;
      }
      const candidate = candidateOf(key);
      if (candidate === undefined) continue;
      seen.add(key);
      candidates.push(candidate);
    }
  }
  return candidates.sort(compareCandidates);
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    a.timeMs - b.timeMs || a.scheduledAtMs - b.scheduledAtMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * The batches of a stream object worth sending, oldest first: of the target (when one is asked for), each run's
 * batch once. The stream may hold a record twice (a put retried after a lost answer); a batch's identity is its
 * target, its time and its metrics (with their first series: a large batch is archived in parts), which a
 * different run or part cannot share.
 */
function streamBatches(batches: MetricBatch[], target: string | undefined, sent: Set<string>): MetricBatch[] {
  const out: MetricBatch[] = [];
  for (const batch of batches) {
    const instance = batch.resource['service.instance.id'];
    if (target !== undefined && instance !== target) continue;
    const identity = `${instance}\u0000${batch.resource['db.cluster']}\u0000${batch.timeMs}\u0000${batch.families.map((f) => `${f.name}:${f.points.length}:${JSON.stringify(f.points[0]?.attributes)}`).join(',')}`;
    if (sent.has(identity)) continue;
    sent.add(identity);
    out.push(batch);
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/** Never rejects: a prefetched object that fails must not become an unhandled rejection. */
async function fetchObject(store: ArchiveStore, key: string): Promise<Fetched> {
  try {
    return { batches: await readArchivedObject(store, key) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The replay checkpoint cannot be used. The message names the file and what is wrong, never its bytes. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

/** Far above the longest archive key (S3 keys are at most 1,024 bytes): anything larger is not a checkpoint. */
const MAX_CHECKPOINT_BYTES = 4096;

/** At most 80 characters of `text`, JSON-quoted so control characters show as escapes. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/** What an fs error means for a file the user named, as the end of a sentence. */
function fsProblem(error: unknown, verb: 'read' | 'written'): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
  if (code === 'EISDIR') return 'is a directory';
  // mkdir -p answers EEXIST when a parent is a file.
  if (code === 'ENOTDIR' || (verb === 'written' && code === 'EEXIST'))
    return `cannot be ${verb}: a parent of it is not a directory`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot be ${verb}: permission denied`;
  return `cannot be ${verb}: ${code ?? (error instanceof Error ? error.message : String(error))}`;
}

/** The archive key a checkpoint file holds, or undefined for an empty file. */
function parseCheckpoint(path: string, bytes: Buffer): string | undefined {
  const notCheckpoint = (why: string) =>
    new CheckpointError(
      `checkpoint ${path} is not a replay checkpoint (${why}); delete it or name another file`,
    );
  if (bytes.length > MAX_CHECKPOINT_BYTES)
    throw notCheckpoint(`${bytes.length.toLocaleString('en-US')} bytes, where one archive key is expected`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).trim();
  } catch {
    throw notCheckpoint('binary data, not text');
  }
  if (text === '') return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) {
    throw notCheckpoint(text.includes('\n') ? 'more than one line' : 'binary data, not text');
  }
  if (candidateOf(text) === undefined) throw notCheckpoint(`${quoted(text)} is not an archive key`);
  return text;
}

/**
 * A checkpoint kept in a local file (the last fully sent key, one line). Saves are atomic
 * (temp file + rename), so an interrupted replay leaves the previous position, not a torn one.
 * A missing file means "from the start"; a file that is not a checkpoint is refused with a
 * {@link CheckpointError} naming it.
 */
export function fileCheckpoint(path: string): ReplayCheckpoint {
  return {
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
        throw new CheckpointError(`checkpoint ${path} ${fsProblem(error, 'read')}`, { cause: error });
      }
      return parseCheckpoint(path, bytes);
    },
    async save(lastKey) {
      const temp = join(dirname(path), `.${randomUUID()}.checkpoint-tmp`);
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(temp, `${lastKey}\n`);
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw new CheckpointError(`checkpoint ${path} ${fsProblem(error, 'written')}`, { cause: error });
      }
    },
  };
}
