import type { Tier } from '../model/metrics.ts';
import type { SlotRequest } from './plan.ts';

/**
 * Delivery of the schedule without any Lambda waiting: the dispatcher turns a minute's plan into a few fleet-wide
 * SQS messages, one per (slot, start offset), each delayed to its second (`DelaySeconds`); when one arrives, the
 * fan-out invokes the collector asynchronously for every target it names. Per-target cost is one async invoke;
 * the messages are a fixed cost of the deployment (at most 4 slots × 15 offsets a minute), whatever the fleet.
 */

/** One fleet-wide delivery: the requests of one slot that start at the same second. */
export interface SlotMessage {
  /** The slot, ISO-8601: every request's `scheduledAt`. */
  readonly scheduledAt: string;
  readonly requests: readonly { readonly target: string; readonly tiers: readonly Tier[] }[];
}

/** A message and the seconds to hold it back (SQS `DelaySeconds`, 0..900). */
export interface DelayedMessage {
  readonly delaySeconds: number;
  readonly message: SlotMessage;
}

/** SQS takes 256 KiB per message; stay well below with the JSON of many small requests. */
const MAX_MESSAGE_BYTES = 200 * 1024;

/**
 * Groups a minute's plan into delayed fleet-wide messages: one per (slot, delay), split when too large.
 * `elapsedSeconds` is how late the dispatcher runs into the minute; delays are shortened by it (never below 0).
 */
export function slotMessages(plan: readonly SlotRequest[], elapsedSeconds = 0): DelayedMessage[] {
  const groups = new Map<
    string,
    { delaySeconds: number; scheduledAtMs: number; requests: SlotMessage['requests'][number][] }
  >();
  for (const r of plan) {
    const key = `${r.scheduledAtMs}|${r.delaySeconds}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { delaySeconds: r.delaySeconds, scheduledAtMs: r.scheduledAtMs, requests: [] };
      groups.set(key, group);
    }
    group.requests.push({ target: r.target, tiers: r.tiers });
  }
  const out: DelayedMessage[] = [];
  for (const group of groups.values()) {
    const scheduledAt = new Date(group.scheduledAtMs).toISOString();
    const delaySeconds = Math.max(0, Math.round(group.delaySeconds - elapsedSeconds));
    let chunk: SlotMessage['requests'][number][] = [];
    let bytes = 0;
    for (const request of group.requests) {
      const size = JSON.stringify(request).length + 1;
      if (chunk.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
        out.push({ delaySeconds, message: { scheduledAt, requests: chunk } });
        chunk = [];
        bytes = 0;
      }
      chunk.push(request);
      bytes += size;
    }
    if (chunk.length > 0) out.push({ delaySeconds, message: { scheduledAt, requests: chunk } });
  }
  return out;
}

/** Sends messages; resolves to the ones that were not accepted (SQS `Failed` entries). */
export type MessageSender = (messages: readonly DelayedMessage[]) => Promise<readonly DelayedMessage[]>;

/** Starts one collector run asynchronously; throws when it was not accepted (throttled, …). */
export type CollectorInvoker = (request: {
  readonly target: string;
  readonly tiers: readonly Tier[];
  readonly scheduledAt: string;
}) => Promise<void>;

/** What one delivery step did; logged by the dispatcher. */
export interface DeliveryReport {
  readonly delivered: number;
  /** Retries that were needed (failed entries sent again). */
  readonly retried: number;
  /** What could still not be delivered after every retry. */
  readonly failed: readonly string[];
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends every message, retrying failed entries (3 more attempts, backed off) before giving up on them. */
export async function sendAll(
  messages: readonly DelayedMessage[],
  send: MessageSender,
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<DeliveryReport> {
  let pending = messages;
  let retried = 0;
  for (let attempt = 0; attempt < 4 && pending.length > 0; attempt++) {
    if (attempt > 0) {
      retried += pending.length;
      await sleep(200 * 2 ** attempt);
    }
    pending = await send(pending);
  }
  return {
    delivered: messages.length - pending.length,
    retried,
    failed: pending.map(
      (m) => `${m.message.scheduledAt}+${m.delaySeconds}s (${m.message.requests.length} requests)`,
    ),
  };
}

/**
 * Starts the collector for every request of a slot message, all at once (one target never waits for another),
 * retrying a refused invoke (throttling) up to 3 more times, backed off.
 */
export async function fanOut(
  message: SlotMessage,
  invoke: CollectorInvoker,
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<DeliveryReport> {
  let retried = 0;
  const failed: string[] = [];
  await Promise.all(
    message.requests.map(async (request) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await invoke({ ...request, scheduledAt: message.scheduledAt });
          return;
        } catch (error) {
          if (attempt === 3) {
            failed.push(`${request.target}: ${error instanceof Error ? error.message : String(error)}`);
            return;
          }
          retried++;
          await sleep(200 * 2 ** attempt);
        }
      }
    }),
  );
  return { delivered: message.requests.length - failed.length, retried, failed };
}

/** Parses a slot message body. @throws Error naming the field */
export function parseSlotMessage(body: string): SlotMessage {
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null) throw new Error('slot message: expected an object');
  const { scheduledAt, requests } = value as Record<string, unknown>;
  if (typeof scheduledAt !== 'string' || Number.isNaN(Date.parse(scheduledAt)))
    throw new Error('slot message: scheduledAt: expected an ISO-8601 time');
  if (!Array.isArray(requests)) throw new Error('slot message: requests: expected an array');
  return { scheduledAt, requests: requests as SlotMessage['requests'] };
}
