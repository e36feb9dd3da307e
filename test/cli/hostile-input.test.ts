import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectResult } from '../../shared/collect/collect.ts';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { pgotel, REPO } from '../helpers/cli.ts';
import { refusedUrl } from '../helpers/fault-server.ts';
import { freePort } from '../helpers/ports.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';
import { promtoolCheckMetrics } from '../helpers/prometheus.ts';

/** What hostile testing fed `pgotel collect` and `pgotel replay`, and what they must answer. */

/** Control characters a terminal acts on: C0 (ESC, CR, ...), DEL, C1, bidi overrides. Newlines are checked apart. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A config file in a fresh directory; `dsn` is a port nothing listens on unless given. */
async function configFile(lines: readonly string[], dsn?: string): Promise<string> {
  const file = join(await makeTmpRoot('cli-hostile'), 'pgotel.config.yaml');
  const target = dsn ?? `postgres://mon@127.0.0.1:${await freePort()}/postgres`;
  await writeFile(file, [`targets: [{ name: orders, dsn: "${target}" }]`, ...lines, ''].join('\n'));
  return file;
}

/** 3,000 bytes that are not text. */
function binary(): Buffer {
  const bytes = Buffer.alloc(3000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 11) % 256;
  return bytes;
}

describe('config problems found after the schema (child process)', () => {
  it('a custom metric named like a built-in one exits 1 naming the file and the field', async () => {
    // Prepare
    const file = await configFile([
      'custom_queries:',
      '  - name: shop_size',
      '    query: SELECT pg_database_size(current_database()) AS bytes',
      '    metrics: [{ name: postgresql.database.size, value_column: bytes, data_type: gauge, unit: bytes }]',
    ]);

    // Act
    const run = await pgotel(['collect', '--config', file, '--format', 'prom']);

    // Assess
    expect(run.stderr).toBe(
      `pgotel: invalid config ${file}:\n` +
        '  custom_queries[0].metrics[0].name: "postgresql.database.size" is a built-in metric (built-in query database_size); choose another name\n',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
  });

  it('two custom metrics of one name with another kind exit 1 naming the second', async () => {
    // Prepare
    const file = await configFile([
      'custom_queries:',
      '  - { name: a, query: SELECT 1 AS n, metrics: [{ name: custom.n, value_column: n, data_type: gauge }] }',
      '  - { name: b, query: SELECT 1 AS n, metrics: [{ name: custom.n, value_column: n, data_type: counter }] }',
    ]);

    // Act
    const run = await pgotel(['collect', '--config', file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `pgotel: invalid config ${file}:\n` +
        '  custom_queries[1].metrics[0].name: "custom.n" is already a gauge in "1" (custom_queries[0].metrics[0].name), here a counter in "1"\n',
    );
  });

  it('a custom query named like a built-in one: the header names the file, not "config"', async () => {
    // Prepare
    const file = await configFile([
      'custom_queries:',
      '  - { name: database_size, query: SELECT 1 AS n, metrics: [{ name: custom.n, value_column: n, data_type: gauge }] }',
    ]);

    // Act
    const run = await pgotel(['collect', '--config', file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `pgotel: invalid config ${file}:\n  custom_queries[0].name: "database_size" is already used by another query\n`,
    );
  });

  it('a problem only a run finds (a secret_arn target, a remote-write secret) names the file too', async () => {
    // Prepare
    const secretTarget = join(await makeTmpRoot('cli-hostile'), 'secret-target.yaml');
    await writeFile(
      secretTarget,
      'targets: [{ name: orders, secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" }]\n',
    );
    const secretAuth = await configFile([
      'remote_write:',
      '  url: http://127.0.0.1:9/api/v1/write',
      '  auth: { type: basic, username: u, password_secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:y" }',
    ]);

    // Act
    const [target, auth] = await Promise.all([
      pgotel(['collect', '--config', secretTarget]),
      pgotel(['collect', '--config', secretAuth]),
    ]);

    // Assess
    expect(target.stderr).toBe(
      `pgotel: invalid config ${secretTarget}:\n` +
        '  targets.orders.secret_arn: secrets are read by the Lambda; local collection needs a dsn (or --dsn)\n',
    );
    expect(auth.stderr).toBe(
      `pgotel: invalid config ${secretAuth}:\n` +
        '  remote_write.auth.password_secret_arn: secrets are read by the Lambda; set remote_write.auth.password for local use\n',
    );
    expect([target.code, auth.code]).toEqual([1, 1]);
  });
});

describe('--remote-write URLs are never echoed with their credentials (child process)', () => {
  it.each([
    ['http://user:S3cretPw@[bad', '"http://***@[bad" is not a valid URL: host or port "[bad" is malformed'],
    [
      'http://user:S3cret/Pw@host:9090/api/v1/write',
      '"http://***@host:9090/api/v1/write" is not a valid URL (a user name or password holding / ? # or @ must be percent-encoded)',
    ],
    ['ftp://user:S3cretPw@host/write', 'scheme "ftp" is not supported: expected http:// or https://'],
    [
      'user:S3cretPw@host:9090',
      '"***@host:9090" is not a URL: expected http://host:port/path or https://...',
    ],
  ])('collect and replay refuse %s saying what is wrong', async (url, problem) => {
    // Prepare
    const archive = await makeTmpRoot('cli-hostile');

    // Act
    const [collect, replay] = await Promise.all([
      pgotel([
        'collect',
        '--dsn',
        `postgres://mon@127.0.0.1:${await freePort()}/postgres`,
        '--remote-write',
        url,
      ]),
      pgotel(['replay', '--from', '-1h', '--archive', `file://${archive}`, '--remote-write', url]),
    ]);

    // Assess
    for (const run of [collect, replay]) {
      expect(run.stderr).toBe(`pgotel: --remote-write: ${problem}\n`);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).not.toContain('S3cret');
    }
  });
});

describe('--archive file:// takes an absolute path (child process)', () => {
  it('refuses file://relative/dir for collect and replay, and writes nothing relative to the working directory', async () => {
    // Prepare
    const dir = `pgotel-relative-${process.pid}`;
    const message =
      `pgotel: --archive: "file://${dir}/archive" names the host "${dir}", not a directory: a file URL takes an absolute path, ` +
      'file:///absolute/dir (three slashes); for a directory relative to the current one use pgotel collect --out DIR\n';

    // Act
    const [collect, replay] = await Promise.all([
      pgotel([
        'collect',
        '--dsn',
        `postgres://mon@127.0.0.1:${await freePort()}/postgres`,
        '--archive',
        `file://${dir}/archive`,
      ]),
      pgotel([
        'replay',
        '--from',
        '-1h',
        '--archive',
        `file://${dir}/archive`,
        '--remote-write',
        await refusedUrl(),
      ]),
    ]);

    // Assess
    for (const run of [collect, replay]) {
      expect(run.stderr).toBe(message);
      expect(run.code).toBe(1);
    }
    expect(existsSync(join(REPO, dir))).toBe(false);
  });
});

describe('replay refuses what it cannot read, naming it (child process)', () => {
  it('an archive folder that does not exist exits 1 naming the folder', async () => {
    // Prepare
    const missing = join(await makeTmpRoot('cli-hostile'), 'no-such-archive');

    // Act
    const run = await pgotel([
      'replay',
      '--from',
      '-1h',
      '--archive',
      `file://${missing}`,
      '--remote-write',
      await refusedUrl(),
    ]);

    // Assess
    expect(run.stderr).toBe(`pgotel: archive directory ${missing} does not exist\n`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
  });

  it('a binary checkpoint exits 1 with one short line naming the file', async () => {
    // Prepare
    const dir = await makeTmpRoot('cli-hostile');
    const checkpoint = join(dir, 'object.binpb');
    await writeFile(checkpoint, binary());

    // Act
    const run = await pgotel([
      'replay',
      '--from',
      '-1h',
      '--archive',
      `file://${dir}`,
      '--remote-write',
      await refusedUrl(),
      '--checkpoint',
      checkpoint,
    ]);

    // Assess
    expect(run.stderr).toBe(
      `pgotel: checkpoint ${checkpoint} is not a replay checkpoint (binary data, not text); delete it or name another file\n`,
    );
    expect(run.code).toBe(1);
  });

  it('a checkpoint that is a directory exits 1 saying so', async () => {
    // Prepare
    const dir = await makeTmpRoot('cli-hostile');
    const checkpoint = join(dir, 'checkpoints');
    await mkdir(checkpoint);

    // Act
    const run = await pgotel([
      'replay',
      '--from',
      '-1h',
      '--archive',
      `file://${dir}`,
      '--remote-write',
      await refusedUrl(),
      '--checkpoint',
      checkpoint,
    ]);

    // Assess
    expect(run.stderr).toBe(`pgotel: checkpoint ${checkpoint} is a directory\n`);
    expect(run.code).toBe(1);
  });

  describe('on S3 (ministack)', () => {
    let aws: AwsEmulator;
    beforeAll(async () => {
      aws = await startAws();
    });
    afterAll(async () => {
      await aws?.stop();
    });

    it('a bucket that does not exist exits 1 naming it', async () => {
      // Act
      const run = await pgotel(
        [
          'replay',
          '--from',
          '-1h',
          '--archive',
          's3://pgotel-no-such-bucket/pg',
          '--remote-write',
          await refusedUrl(),
        ],
        60_000,
        {
          AWS_ENDPOINT_URL: aws.endpoint,
          AWS_REGION: aws.region,
          AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
        },
      );

      // Assess
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        /^pgotel: list s3:\/\/pgotel-no-such-bucket\/pg\/\S* failed: .*bucket does not exist.*\n$/,
      );
    });
  });
});

describe('control characters in names are escaped where people read them (child process)', () => {
  /** A database name with an ANSI colour sequence, a newline (a forged line) and a right-to-left override. */
  const DATABASE = 'evil\u001b[31m red\nline\u202e db';
  const SHOWN = 'evil\\x1b[31m red\\nline\\u202e db';
  let server: PgInstance;

  beforeAll(async () => {
    server = await startPostgres({ pgStatStatements: false });
    await server.query(`CREATE DATABASE ${escapeIdentifier(DATABASE)}`);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('the table shows them as escapes, on the line they belong to', async () => {
    // Act
    const run = await pgotel(['collect', '--dsn', server.dsn(DATABASE), '--tier', 'historical']);

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW_CONTROL);
    expect(run.stdout).not.toMatch(/^line/m);
    const rows = run.stdout.split('\n').map((line) => line.trim().split(/\s{2,}/));
    const size = rows.filter((r) => r[0] === 'postgresql.database.size' && r[1] === `database_name=${SHOWN}`);
    expect(size).toHaveLength(1);
  });

  it('JSON and the Prometheus format stay exact: their encoders escape, promtool accepts the result', async () => {
    // Act
    const [json, prom] = await Promise.all([
      pgotel(['collect', '--dsn', server.dsn(DATABASE), '--tier', 'historical', '--format', 'json']),
      pgotel(['collect', '--dsn', server.dsn(DATABASE), '--tier', 'historical', '--format', 'prom']),
    ]);

    // Assess
    expect([json.code, prom.code]).toEqual([0, 0]);
    expect(json.stdout).not.toContain('\u001b');
    const result = JSON.parse(json.stdout) as CollectResult;
    expect(result.databases).toContain(DATABASE);
    expect(await promtoolCheckMetrics(prom.stdout)).toEqual({ code: 0, output: '' });
    // The newline is `\n` inside the quoted label value: no line of the exposition starts with the rest of the name.
    expect(prom.stdout).toContain('database_name="evil\u001b[31m red\\nline\u202e db"');
    expect(prom.stdout).not.toMatch(/^line/m);
  });

  it('stderr shows them as escapes: a target-down line and a usage error', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const down = await pgotel([
      'collect',
      '--dsn',
      `postgres://mon@127.0.0.1:${port}/${encodeURIComponent(DATABASE)}`,
      '--format',
      'json',
    ]);
    const usage = await pgotel(['collect', '--tier', 'critical,\u001b[2J\rfake']);

    // Assess
    expect(down.code).toBe(2);
    expect(down.stderr).toBe(
      `pgotel: target local is down: cannot connect to 127.0.0.1:${port} (database "${SHOWN}", user "mon"): connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(usage.code).toBe(1);
    expect(usage.stderr).toBe(
      'pgotel: --tier: unknown tier "\\x1b[2J\\rfake" (use critical, standard, historical or all)\n',
    );
  });
});
