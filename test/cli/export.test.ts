import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../shared/archive/archive.ts';
import { FileArchiveStore } from '../../shared/archive/file-store.ts';
import { helpOptions, pgotel } from '../helpers/cli.ts';
import { refusedUrl } from '../helpers/fault-server.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/** `pgotel collect --remote-write/--archive/--out` and `pgotel replay` as a user runs them. */

/** Archive keys of a `--dsn` run: its target (and cluster) is named `local`. */
const KEY =
  /^year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/minute=\d{2}\/local\/local\/(critical|standard|historical)-\d{8}T\d{6}(?:\.\d{3})?Z\.binpb$/;

/** Every regular file below `dir`, relative, sorted. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** The archive lines of the export summary: `  <tier>: <location> (<size>)`. */
function archiveLines(stdout: string): { tier: string; location: string }[] {
  return stdout
    .split('\n')
    .map((line) =>
      /^ {2}(critical|standard|historical): (file:\/\/\S+) \(\d+(?:\.\d)? (?:B|KiB)\)$/.exec(line),
    )
    .flatMap((m) => (m === null ? [] : [{ tier: m[1] ?? '', location: m[2] ?? '' }]));
}

/** The first summary line starting with `remote-write:`. */
function remoteWriteLine(stdout: string): string {
  return stdout.split('\n').find((line) => line.startsWith('remote-write:')) ?? '';
}

let pg: PgInstance;
let prom: PromInstance;
let root: string;

beforeAll(async () => {
  [pg, prom, root] = await Promise.all([startPostgres(), startPrometheus(), makeTmpRoot('cli-export')]);
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), prom?.destroy()]);
});

describe('pgotel collect with exports (child process)', () => {
  it('--remote-write and --archive file://: exit 0, a summary with samples, series, attempts, HTTP 204 and the keys', async () => {
    // Prepare
    const dir = join(root, 'archive-ok');

    // Act
    const run = await pgotel([
      'collect',
      '--dsn',
      pg.dsn(),
      '--remote-write',
      prom.writeUrl,
      '--archive',
      `file://${dir}`,
    ]);

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rw =
      /^remote-write: ok, ([\d,]+) samples in ([\d,]+) series sent, 0 rejected, (\d+) requests?, (\d+) attempts?, HTTP 204, [\d.]+ (?:B|KiB) on the wire, \d+ ms$/.exec(
        remoteWriteLine(run.stdout),
      );
    expect(rw).not.toBeNull();
    const [, samples = '', series = '', requests = '', attempts = ''] = rw ?? [];
    const seriesInProm = await prom.seriesCount();
    expect(Number(samples.replaceAll(',', ''))).toBe(seriesInProm);
    expect(Number(series.replaceAll(',', ''))).toBe(seriesInProm);
    expect(attempts).toBe(requests);
    expect(run.stdout).toContain('\narchive: ok, 3 objects\n');
    const lines = archiveLines(run.stdout);
    expect(lines.map((l) => l.tier)).toEqual(['critical', 'standard', 'historical']);
    const keys = lines.map((l) => relative(dir, fileURLToPath(l.location)));
    for (const key of keys) expect(key).toMatch(KEY);
    expect(await filesBelow(dir)).toEqual([...keys].sort());
    expect(run.stdout).not.toContain(pg.password);
  });

  it('--remote-write to a refused port: exit 3, FAILED in the summary, the archive still written', async () => {
    // Prepare
    const dir = join(root, 'archive-refused');
    const url = await refusedUrl();

    // Act
    const run = await pgotel([
      'collect',
      '--dsn',
      pg.dsn(),
      '--remote-write',
      url,
      '--archive',
      `file://${dir}`,
    ]);

    // Assess
    expect(run.code).toBe(3);
    expect(remoteWriteLine(run.stdout)).toMatch(
      /^remote-write: FAILED, 0 samples in 0 series sent, [\d,]+ rejected, \d+ requests?, \d+ attempts?, no HTTP response, /,
    );
    expect(run.stdout).toContain(
      `: gave up after 5 attempts: network error: ECONNREFUSED: connect ECONNREFUSED ${new URL(url).host}\n`,
    );
    expect(run.stdout).toContain('\narchive: ok, 3 objects\n');
    const keys = archiveLines(run.stdout).map((l) => relative(dir, fileURLToPath(l.location)));
    expect(keys).toHaveLength(3);
    expect(await filesBelow(dir)).toEqual([...keys].sort());
  });

  it('--out DIR writes one .binpb per tier under DIR in the partition layout', async () => {
    // Prepare
    const dir = join(root, 'out');

    // Act
    const run = await pgotel(['collect', '--dsn', pg.dsn(), '--tier', 'critical,historical', '--out', dir]);

    // Assess
    expect(run.code).toBe(0);
    const files = await filesBelow(dir);
    expect(files.map((f) => KEY.exec(f)?.[1])).toEqual(['critical', 'historical']);
    for (const file of files) {
      const batches = await readArchivedObject(new FileArchiveStore(dir), file);
      expect(batches.map((b) => b.resource['service.instance.id'])).toEqual(['local']);
      expect((await stat(join(dir, file))).size).toBeGreaterThan(0);
    }
    expect(archiveLines(run.stdout).map((l) => fileURLToPath(l.location))).toEqual(
      files.map((f) => join(dir, f)),
    );
  });
});

describe('pgotel replay (child process)', () => {
  it('--help lists every flag', async () => {
    // Act
    const run = await pgotel(['replay', '--help']);

    // Assess
    expect(run.code).toBe(0);
    const options = helpOptions(run.stdout);
    expect(options).toEqual([
      '--from <time>',
      '--to <time>',
      '--target <name>',
      '--remote-write <url>',
      '--archive <url>',
      '--checkpoint <file>',
      '--config <file>',
      '-h, --help',
    ]);
  });

  it('a bad --from exits 1 with one stderr line naming --from', async () => {
    // Act
    const run = await pgotel([
      'replay',
      '--from',
      'last tuesday',
      '--archive',
      `file://${join(root, 'none')}`,
      '--remote-write',
      prom.writeUrl,
    ]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'pgotel: --from: "last tuesday" is not a time (ISO-8601, epoch seconds, now, or -15m/-2h/-1d)\n',
    );
  });
});
