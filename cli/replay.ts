import type { ObjectArchive } from '../shared/archive/archive-run.ts';
import type { ExportDestinations } from '../shared/export/export-run.ts';
import { remoteWrite } from '../shared/export/remote-write.ts';
import { toTimeSeries } from '../shared/export/remote-write-labels.ts';
import { fileCheckpoint, type ReplayReport, replay } from '../shared/replay/replay.ts';
import { UsageError } from './collect.ts';

const RELATIVE = /^-(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `--from`/`--to`: ISO-8601, epoch seconds, `now`, or a relative `-15m` / `-2h` / `-1d`. */
export function parseTime(value: string, flag: string, nowMs: number): number {
  if (value === 'now') return nowMs;
  const relative = RELATIVE.exec(value);
  if (relative !== null) return nowMs - Number(relative[1]) * (UNIT_MS[relative[2] ?? 's'] ?? 1_000);
  if (/^\d{9,11}(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed))
    throw new UsageError(`${flag}: "${value}" is not a time (ISO-8601, epoch seconds, now, or -15m/-2h/-1d)`);
  return parsed;
}

/** Inputs of `pgotel replay`. */
export interface ReplayCommand {
  readonly fromMs: number;
  readonly toMs: number;
  readonly target?: string;
  readonly checkpointFile?: string;
  readonly destinations: ExportDestinations & { readonly archive?: ObjectArchive };
  readonly progress: (line: string) => void;
}

/**
 * Re-sends archived objects in a time range to remote-write, one object per request set so replayed data is
 * never mixed with fresh data, in time order, resuming after the checkpoint when one is given.
 */
export async function runReplay(command: ReplayCommand): Promise<ReplayReport> {
  const { archive, remoteWrite: remote } = command.destinations;
  if (archive === undefined)
    throw new UsageError(
      'replay needs --archive s3://bucket/prefix or file:///absolute/dir (or archive.url in --config)',
    );
  if (remote === undefined)
    throw new UsageError('replay needs --remote-write URL (or remote_write.url in --config)');
  if (command.toMs < command.fromMs) throw new UsageError('--to is before --from');
  return replay({
    store: archive.store,
    prefix: archive.prefix,
    fromMs: command.fromMs,
    toMs: command.toMs,
    ...(command.target === undefined ? {} : { target: command.target }),
    ...(command.checkpointFile === undefined ? {} : { checkpoint: fileCheckpoint(command.checkpointFile) }),
    send: async (batches) => {
      const series = batches.flatMap((batch) => toTimeSeries(batch));
      const report = await remoteWrite(series, { ...remote, deadlineMs: Date.now() + 120_000 });
      return {
        ok: report.ok,
        samplesSent: report.samplesSent,
        samplesRejected: report.samplesRejected,
        ...(report.ok ? {} : { error: report.errors.join('; ') }),
      };
    },
    onProgress: (p) =>
      command.progress(
        `[${p.index}/${p.total}] ${p.key}: ${p.samplesSent.toLocaleString('en-US')} samples sent, ${p.samplesRejected.toLocaleString('en-US')} rejected so far`,
      ),
  });
}
