import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Tier } from '../shared/model/metrics.ts';
import type { RunSummary } from '../shared/run/run-collection.ts';
import { startAws } from '../test/helpers/aws.ts';
import { deployStack } from '../test/helpers/deploy.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { descendantPids } from '../test/helpers/processes.ts';
import { startPrometheus } from '../test/helpers/prometheus.ts';
import { createBenchDatabase } from './collect.ts';

/** Figures of the deployed collector on the bench database. */
export interface LambdaBench {
  readonly bundleBytes: number;
  readonly coldRoundTripMs: number;
  readonly tiers: readonly {
    tier: Tier;
    runs: number;
    p50: number;
    max: number;
    series: number;
    samples: number;
  }[];
  /** Peak resident memory of the function's Node process (VmHWM), what Lambda reports as Max Memory Used. */
  readonly maxMemoryMb: number;
  readonly nodeVersion: string;
}

/** The emulator's function workers: Node processes below `pid` running its `_worker.js`. */
function workerPids(pid: number): number[] {
  return descendantPids(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('_worker.js');
    } catch {
      return false;
    }
  });
}

function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

/**
 * Deploys the stack with `cdk deploy` to ministack, with one target on the bench database (PostgreSQL 18, 2,000
 * tables × 3 indexes, a pg_monitor role), then invokes the collector: one cold run, then warm runs per tier.
 */
export async function benchLambda(options: {
  tables: number;
  log: (line: string) => void;
}): Promise<LambdaBench> {
  const { log } = options;
  const [aws, pg, prom] = await Promise.all([startAws(), startPostgres({ major: 18 }), startPrometheus()]);
  const dir = await mkdtemp(join(tmpdir(), 'pgotel-bench-lambda-'));
  try {
    await createBenchDatabase(pg, options.tables, log);
    const clientOptions = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
    const secrets = new SecretsManagerClient(clientOptions);
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: 'pgotel/bench',
        SecretString: JSON.stringify({
          host: '127.0.0.1',
          port: pg.port,
          username: 'otel_monitor',
          password: 'bench-monitor',
          dbname: 'postgres',
        }),
      }),
    );
    secrets.destroy();
    const configPath = join(dir, 'pgotel.config.yaml');
    await writeFile(
      configPath,
      `targets:\n  - name: bench\n    secret_arn: ${secret.ARN}\n    tls: { mode: disable }\nremote_write:\n  url: ${prom.writeUrl}\ncardinality: {}\nschedule: { enabled: false }\n`,
    );
    log('deploying the stack (cdk bootstrap + deploy)');
    const stack = await deployStack({ aws, configPath });
    const assetDirs = readdirSync(stack.assemblyDir).filter((d) => d.startsWith('asset.'));
    let bundleBytes = 0;
    for (const d of assetDirs) {
      try {
        bundleBytes = Math.max(bundleBytes, (await stat(join(stack.assemblyDir, d, 'index.mjs'))).size);
      } catch {
        // not the function's asset
      }
    }
    const lambda = new LambdaClient(clientOptions);
    const invoke = async (tiers: Tier[]): Promise<{ summary: RunSummary; ms: number }> => {
      const started = performance.now();
      const answer = await lambda.send(
        new InvokeCommand({
          FunctionName: stack.outputs.CollectorFunctionName,
          Payload: new TextEncoder().encode(JSON.stringify({ target: 'bench', tiers })),
        }),
      );
      const text = new TextDecoder().decode(answer.Payload);
      if (answer.FunctionError !== undefined) throw new Error(`collector failed: ${text}`);
      return { summary: JSON.parse(text) as RunSummary, ms: performance.now() - started };
    };
    // The function's peak so far, read between runs: which run sets the peak (a warm container keeps its worker).
    const peakSoFarMb = (): number => {
      const pids = aws.pid === undefined ? [] : workerPids(aws.pid);
      return Math.max(0, ...pids.map(peakRssMb));
    };
    const cold = await invoke(['critical']);
    log(`cold run: ${cold.ms.toFixed(0)} ms round trip, peak memory ${peakSoFarMb().toFixed(0)} MB`);
    const runs: Record<Tier, number> = { critical: 30, standard: 10, historical: 5 };
    const tiers: LambdaBench['tiers'][number][] = [];
    for (const tier of ['critical', 'standard', 'historical'] as const) {
      const times: number[] = [];
      const peaks: number[] = [];
      let last: RunSummary | undefined;
      for (let i = 0; i < runs[tier]; i++) {
        const { summary } = await invoke([tier]);
        if (summary.up !== 1 || summary.queryErrors.length > 0 || summary.remoteWrite?.ok !== true)
          throw new Error(`bench run failed: ${JSON.stringify(summary)}`);
        times.push(summary.durationMs);
        peaks.push(peakSoFarMb());
        last = summary;
      }
      times.sort((a, b) => a - b);
      const row = {
        tier,
        runs: runs[tier],
        p50: times[Math.floor(times.length / 2)] ?? 0,
        max: times[times.length - 1] ?? 0,
        series: last?.series ?? 0,
        samples: last?.samplesSent ?? 0,
      };
      log(
        `${tier}: p50 ${row.p50} ms, max ${row.max} ms, ${row.series} series; ` +
          `peak memory after each run ${peaks.map((mb) => mb.toFixed(0)).join(', ')} MB`,
      );
      tiers.push(row);
    }
    const workers = aws.pid === undefined ? [] : workerPids(aws.pid);
    const maxMemoryMb = Math.max(0, ...workers.map(peakRssMb));
    const nodeVersion =
      workers[0] === undefined
        ? 'unknown'
        : `Node ${execFileSync(readlinkSync(`/proc/${workers[0]}/exe`), ['--version'])
            .toString()
            .trim()}`;
    lambda.destroy();
    return { bundleBytes, coldRoundTripMs: cold.ms, tiers, maxMemoryMb, nodeVersion };
  } finally {
    await Promise.all([aws.stop(), pg.destroy(), prom.destroy()]);
    await rm(dir, { recursive: true, force: true });
  }
}
