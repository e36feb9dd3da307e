import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { RunSummary } from '../shared/run/run-collection.ts';
import { parseTiers, UsageError } from './collect.ts';

/** Flags of `pgotel invoke`. */
export interface InvokeFlags {
  readonly target: string;
  readonly tiers?: string;
  readonly stack: string;
  readonly json?: boolean;
}

/** What the deployed collector answered. */
export type InvokeAnswer =
  | { readonly kind: 'summary'; readonly summary: RunSummary }
  | { readonly kind: 'error'; readonly message: string };

/** The collector's function name from the stack's `CollectorFunctionName` output. */
async function collectorFunction(cloudformation: CloudFormationClient, stack: string): Promise<string> {
  let outputs: readonly { OutputKey?: string | undefined; OutputValue?: string | undefined }[] | undefined;
  try {
    const answer = await cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = answer.Stacks?.[0]?.Outputs;
  } catch (error) {
    throw new UsageError(
      `--stack ${stack}: cannot read the stack (${error instanceof Error ? error.message : String(error)}); deploy it with npx cdk deploy`,
    );
  }
  const name = outputs?.find((o) => o.OutputKey === 'CollectorFunctionName')?.OutputValue;
  if (name === undefined)
    throw new UsageError(`--stack ${stack}: the stack has no CollectorFunctionName output`);
  return name;
}

/**
 * Invokes the deployed collector synchronously for one target (every query of the tiers, as an ad-hoc request)
 * and returns its answer. Uses the usual AWS SDK configuration (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`).
 */
export async function invokeCollector(flags: InvokeFlags): Promise<InvokeAnswer> {
  const tiers = parseTiers(flags.tiers);
  const cloudformation = new CloudFormationClient({});
  const lambda = new LambdaClient({});
  try {
    const functionName = await collectorFunction(cloudformation, flags.stack);
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify({ target: flags.target, tiers })),
      }),
    );
    const text = answer.Payload === undefined ? '' : new TextDecoder().decode(answer.Payload);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    if (answer.FunctionError !== undefined) {
      const message =
        typeof body === 'object' && body !== null && 'errorMessage' in body
          ? String(body.errorMessage)
          : text;
      return { kind: 'error', message: `${functionName} failed: ${message}` };
    }
    if (typeof body === 'object' && body !== null && 'error' in body)
      return { kind: 'error', message: String(body.error) };
    return { kind: 'summary', summary: body as RunSummary };
  } finally {
    cloudformation.destroy();
    lambda.destroy();
  }
}

/** The summary as a few readable lines. */
export function formatSummary(s: RunSummary): string {
  const lines = [
    `${s.target}: ${s.up === 1 ? 'up' : 'DOWN'}, tiers ${s.tiers.join(',')}, ${s.series} series, ${s.durationMs} ms` +
      // A function deployed before kept sessions existed reports none.
      (s.sessions === undefined
        ? ''
        : ` (sessions: ${s.sessions.opened} opened, ${s.sessions.reused} kept from an earlier run)`),
  ];
  if (s.error !== undefined) lines.push(`  error: ${s.error}`);
  if (s.remoteWrite !== undefined) {
    lines.push(
      `  remote-write: ${s.remoteWrite.ok ? 'ok' : 'FAILED'}, ${s.samplesSent} samples sent, ${s.staleMarkers} stale markers` +
        `${s.remoteWrite.status === undefined ? '' : `, HTTP ${s.remoteWrite.status}`}`,
    );
    for (const e of s.remoteWrite.errors) lines.push(`    ${e}`);
  }
  if (s.archive !== undefined) {
    // The deployed collector archives into a delivery stream: its keys name the stream and the run's tiers.
    const streamed = s.archiveKeys.length > 0 && s.archiveKeys.every((k) => k.startsWith('firehose://'));
    const what = streamed ? 'tier' : 'object';
    lines.push(
      `  archive: ${s.archive.ok ? 'ok' : 'FAILED'}, ${s.archiveKeys.length} ${what}${s.archiveKeys.length === 1 ? '' : 's'}${streamed ? ' in the archive stream' : ''}`,
    );
    for (const key of s.archiveKeys) lines.push(`    ${key}`);
    for (const e of s.archive.errors) lines.push(`    ${e}`);
  }
  if (s.droppedByCardinality > 0) {
    const per = Object.entries(s.droppedByMetric).map(([m, n]) => `${m} ${n}`);
    lines.push(`  cardinality: ${s.droppedByCardinality} series dropped (${per.join(', ')})`);
  }
  for (const q of s.queryErrors)
    lines.push(
      `  query ${q.query}${q.database === undefined ? '' : ` (${q.database})`} failed: ${q.message}`,
    );
  for (const e of s.stateErrors) lines.push(`  state: ${e}`);
  return `${lines.join('\n')}\n`;
}
