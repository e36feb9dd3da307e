import type { CostBench } from './cost.ts';
import {
  ESM_IDLE_POLLERS,
  ESM_LONG_POLL_SECONDS,
  MONTH_SECONDS,
  PRICES,
  perDatabase,
  RUN_TYPES,
  type RunType,
  SERVICES,
} from './cost-model.ts';

/** The Markdown tables of `npm run bench -- cost`, ready for docs/cost.md and the README. */

const LABELS: Readonly<Record<RunType, string>> = {
  critical: 'critical',
  standard: 'critical + standard',
  historical: 'all tiers',
  'historical-long': 'all tiers + longer-interval queries',
};

function usd(value: number): string {
  return value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function quantity(value: number): string {
  if (value >= 100) return count(value);
  return value.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`;
}

/** Renders the bench's result as Markdown. */
export function renderCostReport(r: CostBench): string {
  const out: string[] = [];
  const dbs = r.databases;
  const head = `| | ${dbs.map((d) => d.name).join(' | ')} |`;
  const rule = `|---|${dbs.map(() => '---:').join('|')}|`;
  const row = (label: string, cells: readonly string[]) => out.push(`| ${label} | ${cells.join(' | ')} |`);
  const first = dbs[0];
  if (first === undefined) return '';
  const present = RUN_TYPES.filter((t) => first.inputs.runsPerMonth[t] > 0);

  out.push('### What each database adds, per month (30 days, default cadences)', '');
  out.push(
    `Runs per database-month: ${present.map((t) => `${count(first.inputs.runsPerMonth[t])} ${LABELS[t]}`).join('; ')}.`,
    '',
  );
  out.push(head, rule);
  for (const service of SERVICES) {
    if (dbs.every((d) => d.month.byService[service] === 0)) continue;
    row(
      service,
      dbs.map((d) => usd(d.month.byService[service])),
    );
  }
  row(
    '**AWS total per database**',
    dbs.map((d) => `**${usd(d.month.total)}**`),
  );
  row(
    "Secrets Manager secret (the user's, apart)",
    dbs.map(() => usd(PRICES.secretMonth)),
  );
  row(
    'Lambda GB-s (collector)',
    dbs.map((d) => count(d.month.gbSeconds)),
  );
  row(
    'CloudWatch Logs ingested',
    dbs.map((d) => megabytes(d.month.logBytes)),
  );
  row(
    'archived (OTLP)',
    dbs.map((d) => megabytes(d.month.archiveBytes)),
  );
  row(
    'bytes sent (remote-write, archive, AWS requests)',
    dbs.map((d) => megabytes(d.month.bytesSent)),
  );
  row(
    '… through a NAT gateway (private subnets; not in the total)',
    dbs.map((d) => usd(d.month.natUsd)),
  );
  row(
    '**samples sent (pgotel)**',
    dbs.map((d) => `**${count(d.month.samples)}**`),
  );
  row(
    'Amazon Managed Prometheus ingestion (pgotel)',
    dbs.map((d) => usd(d.month.ampUsd)),
  );
  row(
    'samples, every metric scraped every 15 s',
    dbs.map((d) => count(d.month.scraperSamples)),
  );
  row(
    'Amazon Managed Prometheus ingestion (15 s scraper)',
    dbs.map((d) => usd(d.month.scraperAmpUsd)),
  );
  row(
    'pgotel / 15 s scraper',
    dbs.map((d) => `${((d.month.samples / Math.max(1, d.month.scraperSamples)) * 100).toFixed(1)} %`),
  );

  out.push('', '#### Itemized, per database-month', '', head, rule);
  const lines = [...new Set(dbs.flatMap((d) => d.month.items.map((i) => `${i.service}|${i.item}`)))];
  for (const line of lines) {
    const [service, item] = line.split('|') as [string, string];
    row(
      `${service}: ${item}`,
      dbs.map((d) => {
        const i = d.month.items.find((x) => x.service === service && x.item === item);
        return i === undefined ? '—' : `${quantity(i.quantity)} ${i.unit}: ${usd(i.usd)}`;
      }),
    );
  }

  out.push('', '#### Per run (measured, warm; durations are medians, the rest means)', '');
  const perDb = (label: string) => dbs.map((d) => `${d.name} ${label}`).join(' | ');
  out.push(
    `| run type | ${perDb('billed ms')} | ${perDb('function ms')} | ${perDb('API calls')} | ${perDb('samples')} | ${perDb('remote-write bytes')} |`,
  );
  out.push(`|---|${dbs.map(() => '---:|---:|---:|---:|---:').join('|')}|`);
  for (const type of present) {
    const m = (d: (typeof dbs)[number]) => d.inputs.perRunType[type];
    const cells = [
      dbs.map((d) => (m(d).billedMs / m(d).runs).toFixed(0)),
      dbs.map((d) => d.perRun[type].durationMs.toFixed(0)),
      dbs.map((d) => (m(d).calls.reduce((s, c) => s + c.calls, 0) / m(d).runs).toFixed(2)),
      dbs.map((d) => count(d.perRun[type].samples)),
      dbs.map((d) => count(d.perRun[type].remoteWriteBytes)),
    ];
    out.push(`| ${LABELS[type]} | ${cells.map((c) => c.join(' | ')).join(' | ')} |`);
  }

  const fleets = r.deployments;
  out.push('', '### What the deployment costs once, per month', '');
  out.push(`| | ${fleets.map((f) => `${f.targets} database${f.targets === 1 ? '' : 's'}`).join(' | ')} |`);
  out.push(`|---|${fleets.map(() => '---:').join('|')}|`);
  for (const service of SERVICES) {
    if (fleets.every((f) => f.month.byService[service] === 0)) continue;
    out.push(`| ${service} | ${fleets.map((f) => usd(f.month.byService[service])).join(' | ')} |`);
  }
  out.push(`| **total per deployment** | ${fleets.map((f) => `**${usd(f.month.total)}**`).join(' | ')} |`);
  out.push(
    `| dispatcher invocations | ${fleets.map((f) => count(f.month.dispatcherInvocations)).join(' | ')} |`,
  );
  out.push(
    `| archive objects (Firehose buffers, fleet-wide) | ${fleets.map(() => count(r.archiveObjectsPerMonth)).join(' | ')} |`,
  );
  out.push(`| SQS requests | ${fleets.map((f) => count(f.month.sqsRequests)).join(' | ')} |`);
  out.push(
    `| collector invokes per minute (per database, above) | ${fleets.map((f) => count(f.month.collectorInvokesPerMinute)).join(' | ')} |`,
  );

  out.push(
    '',
    '### Per database, everything the stack creates included (AWS; the secret and Prometheus apart)',
    '',
  );
  out.push(`| databases in the deployment | ${dbs.map((d) => d.name).join(' | ')} |`);
  out.push(`|---:|${dbs.map(() => '---:').join('|')}|`);
  for (const f of fleets)
    out.push(
      `| ${f.targets} | ${dbs.map((d) => usd(perDatabase(d.month, f.month, f.targets))).join(' | ')} |`,
    );

  out.push('', 'Notes:', '');
  out.push(
    `- Lambda: billed duration is the emulator's REPORT duration of an invocation rounded up to 1 ms (the median run of each type, as the machine is shared), × the configured memory from the synthesized template (collector ${r.collectorMemoryMb} MB, dispatcher ${r.dispatcherMemoryMb} MB, Arm); one request per run (the dispatcher's async Invoke).`,
    `- The collector's AWS calls: ${r.collectorCalls.map((c) => `\`${c}\``).join(', ')}; every one is priced (an unpriced call fails the bench).`,
    `- Secrets Manager: at least one GetSecretValue per ${MONTH_SECONDS / (first.inputs.secretFetchFloor || 1)} s per warm container (the cache's max age).`,
    `- DynamoDB: request units from the items' sizes in the recorded requests; the cardinality window's rewrite every 3/4 window, old chunks left to their TTL (${count(first.inputs.cardinalityRefresh.perMonth)} a month, ${r.databases.map((d) => `${d.name} ${d.inputs.cardinalityRefresh.writeUnits} WRU`).join(', ')} each); storage and PITR of the state items.`,
    `- SQS: the dispatcher's SendMessageBatch (measured), one ReceiveMessage and one DeleteMessageBatch per delivered batch, and idle long polling of ${r.queueMappings} event source mappings (${ESM_IDLE_POLLERS} pollers, ${ESM_LONG_POLL_SECONDS} s waits: an estimate).`,
    `- EventBridge: the every-minute rule's 43,200 events priced as custom events (an upper bound). CloudWatch: ${r.alarms} alarms, all on AWS/ namespaces; no custom metric: ${count(r.logLinesScanned)} log lines scanned, none with an EMF \`_aws\` block, and no CloudWatch API call.`,
    `- S3 archive storage: the month's archive for 30 days in S3 Standard; after that each month's archive costs ${usd(PRICES.s3GlacierIrGbMonth)}/GB-month in Glacier Instant Retrieval for as long as it is kept. CloudWatch Logs: ingestion plus one month stored (30-day retention), uncompressed.`,
  );
  return out.join('\n');
}
