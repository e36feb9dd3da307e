import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PromInstance, promtoolPath, startPrometheus } from './prometheus.ts';

const execFileAsync = promisify(execFile);

describe('startPrometheus', () => {
  let prom: PromInstance;

  beforeAll(async () => {
    prom = await startPrometheus();
  });

  afterAll(async () => {
    await prom?.destroy();
  });

  it('listens on 127.0.0.1 with the remote-write receiver', async () => {
    // Act
    const flags = (await (await fetch(`${prom.url}/api/v1/status/flags`)).json()) as {
      data: Record<string, string>;
    };

    // Assess
    expect(prom.url).toBe(`http://127.0.0.1:${prom.port}`);
    expect(prom.writeUrl).toBe(`http://127.0.0.1:${prom.port}/api/v1/write`);
    expect(flags.data['web.enable-remote-write-receiver']).toBe('true');
    expect(flags.data['storage.tsdb.path']).toBe(prom.dataDir);
    expect(flags.data['storage.tsdb.retention.time']).toBe('1d');
  });

  it('answers instant queries', async () => {
    // Act
    const vector = await prom.query('vector(1)', 1_795_000_000);
    const labelled = await prom.query('label_replace(vector(3), "db", "orders", "", "")', 1_795_000_000.5);
    const scalar = await prom.query('2.5', 1_795_000_000);
    const nan = await prom.query('vector(NaN)', 1_795_000_000);

    // Assess
    expect(vector).toEqual([{ metric: {}, value: 1, timestampSec: 1_795_000_000 }]);
    expect(labelled).toEqual([{ metric: { db: 'orders' }, value: 3, timestampSec: 1_795_000_000.5 }]);
    expect(scalar).toEqual([{ metric: {}, value: 2.5, timestampSec: 1_795_000_000 }]);
    expect(nan).toEqual([{ metric: {}, value: Number.NaN, timestampSec: 1_795_000_000 }]);
  });

  it('answers range queries', async () => {
    // Act
    const series = await prom.queryRange('vector(2)', 1_795_000_000, 1_795_000_060, 30);

    // Assess
    expect(series).toEqual([
      {
        metric: {},
        values: [
          [1_795_000_000, 2],
          [1_795_000_030, 2],
          [1_795_000_060, 2],
        ],
      },
    ]);
  });

  it('throws the API error of a bad query', async () => {
    // Act
    const result = prom.query('sum(');

    // Assess
    await expect(result).rejects.toThrow('bad_data: invalid parameter "query"');
  });

  it('keeps its data and port across stop and start and counts series', async () => {
    // Prepare: backfill two series from ten minutes ago with promtool while the server is stopped.
    const at = Math.floor(Date.now() / 1000) - 600;
    const text = [
      '# TYPE pgotel_helper_test gauge',
      `pgotel_helper_test{db="a"} 1 ${at}`,
      `pgotel_helper_test{db="b"} 2 ${at}`,
      '# EOF',
      '',
    ].join('\n');
    const input = join(prom.dataDir, '..', 'backfill.om');
    await writeFile(input, text);
    const emptyBefore = await prom.seriesCount();
    await prom.stop();
    const whileStopped = prom.query('vector(1)');
    await expect(whileStopped).rejects.toThrow('fetch failed');
    await execFileAsync(promtoolPath(), ['tsdb', 'create-blocks-from', 'openmetrics', input, prom.dataDir]);
    const port = prom.port;

    // Act
    await prom.start();
    const count = await prom.seriesCount();
    const matching = await prom.seriesCount('pgotel_helper_test{db="b"}');
    const samples = await prom.query('pgotel_helper_test', at);

    // Assess
    expect(prom.port).toBe(port);
    expect(emptyBefore).toBe(0);
    expect(count).toBe(2);
    expect(matching).toBe(1);
    expect(samples.sort((x, y) => x.value - y.value)).toEqual([
      { metric: { __name__: 'pgotel_helper_test', db: 'a' }, value: 1, timestampSec: at },
      { metric: { __name__: 'pgotel_helper_test', db: 'b' }, value: 2, timestampSec: at },
    ]);
  });

  it('accepts extra flags and removes its files on destroy', async () => {
    // Prepare
    const other = await startPrometheus({ extraFlags: ['--query.lookback-delta=7m'] });
    const flags = (await (await fetch(`${other.url}/api/v1/status/flags`)).json()) as {
      data: Record<string, string>;
    };

    // Act
    await other.destroy();

    // Assess
    expect(flags.data['query.lookback-delta']).toBe('7m');
    expect(existsSync(other.dataDir)).toBe(false);
  });
});

describe('promtoolPath', () => {
  it('finds a working promtool', async () => {
    // Act
    const { stdout, stderr } = await execFileAsync(promtoolPath(), ['--version']);

    // Assess
    expect(`${stdout}${stderr}`).toMatch(/^promtool, version \d+\.\d+\.\d+/);
  });
});
