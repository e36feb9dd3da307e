import { TIERS, type Tier } from '../model/metrics.ts';

/**
 * The collect request: `{ "target": "orders-primary", "tiers": ["critical"], "scheduledAt": "ISO-8601" }`, as
 * an EventBridge detail, an SQS message body or a direct invoke payload.
 */
export interface CollectRequest {
  readonly target: string;
  readonly tiers: readonly Tier[];
  /** The slot, epoch ms. Absent in ad-hoc requests: then the run starts now and ignores per-query intervals. */
  readonly scheduledAtMs?: number;
}

/** A request that can never succeed as sent; the message names the field. Never worth a retry. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const FIELDS = new Set(['target', 'tiers', 'scheduledAt']);

/**
 * Validates a collect request against the deployed target names.
 * @throws RequestError naming the field
 */
export function parseCollectRequest(value: unknown, targets: ReadonlySet<string>): CollectRequest {
  if (!isRecord(value)) throw new RequestError('request: expected a JSON object like {"target": "name"}');
  for (const key of Object.keys(value)) {
    if (!FIELDS.has(key))
      throw new RequestError(`${key}: unknown field (expected target, tiers, scheduledAt)`);
  }
  const target = value.target;
  if (typeof target !== 'string' || target === '') throw new RequestError('target: expected a target name');
  if (!targets.has(target)) {
    throw new RequestError(
      `target: no target named ${JSON.stringify(target)}; deployed: ${[...targets].join(', ')}`,
    );
  }
  let tiers: Tier[] = [...TIERS];
  if (value.tiers !== undefined) {
    if (!Array.isArray(value.tiers) || value.tiers.length === 0)
      throw new RequestError('tiers: expected a non-empty array of critical, standard, historical');
    tiers = [];
    for (const [i, tier] of value.tiers.entries()) {
      if (!(TIERS as readonly unknown[]).includes(tier))
        throw new RequestError(
          `tiers[${i}]: expected one of ${TIERS.join(', ')}, got ${JSON.stringify(tier)}`,
        );
      if (!tiers.includes(tier as Tier)) tiers.push(tier as Tier);
    }
  }
  if (value.scheduledAt === undefined) return { target, tiers };
  const at = value.scheduledAt;
  const ms = typeof at === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(at) ? Date.parse(at) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new RequestError('scheduledAt: expected an ISO-8601 time like 2026-11-29T12:00:15Z');
  return { target, tiers, scheduledAtMs: ms };
}

/** Where a Lambda event came from, and the requests it carries. */
export type CollectorEvent =
  | { readonly kind: 'sqs' }
  | { readonly kind: 'eventbridge'; readonly detail: unknown }
  | { readonly kind: 'direct'; readonly payload: unknown };

/** Tells an SQS batch, an EventBridge event and a direct invoke apart (their shapes do not overlap). */
export function classifyEvent(event: unknown): CollectorEvent {
  if (isRecord(event) && Array.isArray(event.Records)) {
    const first: unknown = event.Records[0];
    if (isRecord(first) && first.eventSource === 'aws:sqs') return { kind: 'sqs' };
  }
  if (isRecord(event) && 'detail-type' in event && 'detail' in event) {
    return { kind: 'eventbridge', detail: event.detail };
  }
  return { kind: 'direct', payload: event };
}
