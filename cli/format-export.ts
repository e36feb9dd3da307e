import type { ExportSummary } from '../shared/export/export-run.ts';
import { printable } from './printable.ts';

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Human summary of an export: samples and series sent, attempts, HTTP status, archive keys. Errors (which may
 * quote a server's answer) and locations are {@link printable}.
 */
export function formatExportSummary(summary: ExportSummary): string {
  const lines: string[] = [];
  const rw = summary.remoteWrite;
  if (rw !== undefined) {
    const status = rw.lastStatus === undefined ? 'no HTTP response' : `HTTP ${rw.lastStatus}`;
    const head = rw.ok ? 'remote-write: ok' : 'remote-write: FAILED';
    lines.push(
      `${head}, ${rw.samplesSent.toLocaleString('en-US')} samples in ${rw.seriesSent.toLocaleString('en-US')} series sent` +
        `, ${rw.samplesRejected.toLocaleString('en-US')} rejected, ${count(rw.requests, 'request')}, ${count(rw.attempts, 'attempt')}, ${status}` +
        `, ${kib(rw.bytesSent)} on the wire, ${rw.durationMs.toFixed(0)} ms` +
        (rw.staleMarkers > 0 ? `, ${count(rw.staleMarkers, 'stale marker')}` : ''),
    );
    for (const error of rw.errors) lines.push(`  ${printable(error)}`);
  }
  const archive = summary.archive;
  if (archive !== undefined) {
    lines.push(
      archive.ok
        ? `archive: ok, ${archive.objects.length} objects`
        : `archive: FAILED (${archive.errors.length} errors)`,
    );
    for (const o of archive.objects) lines.push(`  ${o.tier}: ${printable(o.location)} (${kib(o.bytes)})`);
    for (const e of archive.errors) lines.push(`  ${printable(e)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
