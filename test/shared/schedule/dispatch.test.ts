import { describe, expect, it } from 'vitest';
import {
  type DelayedMessage,
  fanOut,
  parseSlotMessage,
  sendAll,
  slotMessages,
} from '../../../shared/schedule/dispatch.ts';
import { planMinute, type ScheduledTarget } from '../../../shared/schedule/plan.ts';

const ON = { enabled: true };
const ALL_ON: ScheduledTarget['tiers'] = { critical: ON, standard: ON, historical: ON };
const START = Date.UTC(2026, 10, 29, 12, 0, 0);
const noSleep = async () => undefined;

function fleet(n: number): ScheduledTarget[] {
  return Array.from({ length: n }, (_, i) => ({ name: `db-${i}`, tiers: ALL_ON }));
}

describe('slotMessages', () => {
  it('carries every request of the minute in one message per (slot, start second)', () => {
    // Prepare
    const plan = planMinute(fleet(1000), START, 9);

    // Act
    const messages = slotMessages(plan);

    // Assess
    expect(messages).toHaveLength(4 * 10);
    const carried = messages.flatMap((m) =>
      m.message.requests.map((r) => `${r.target}|${r.tiers.join(',')}|${m.message.scheduledAt}`),
    );
    const planned = plan.map(
      (r) => `${r.target}|${r.tiers.join(',')}|${new Date(r.scheduledAtMs).toISOString()}`,
    );
    expect(carried.sort()).toStrictEqual(planned.sort());
    for (const m of messages) {
      const slot = (Date.parse(m.message.scheduledAt) - START) / 1000;
      expect(m.delaySeconds - slot).toBeGreaterThanOrEqual(0);
      expect(m.delaySeconds - slot).toBeLessThanOrEqual(9);
    }
  });

  it('shortens the delays by how late the dispatcher runs, never below zero', () => {
    const messages = slotMessages(planMinute(fleet(5), START, 0), 20);
    expect(messages.map((m) => m.delaySeconds)).toStrictEqual([0, 0, 10, 25]);
  });

  it('splits a slot too large for one SQS message', () => {
    const plan = planMinute(fleet(12_000), START, 0).filter((r) => r.scheduledAtMs === START);
    const messages = slotMessages(plan);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.every((m) => JSON.stringify(m.message).length < 256 * 1024)).toBe(true);
    expect(messages.reduce((n, m) => n + m.message.requests.length, 0)).toBe(12_000);
  });
});

describe('sendAll', () => {
  it('sends failed entries again and reports what never went out', async () => {
    // Prepare: the first message always fails, the second fails once.
    const messages: DelayedMessage[] = [0, 1, 2].map((i) => ({
      delaySeconds: i,
      message: {
        scheduledAt: new Date(START).toISOString(),
        requests: [{ target: `t${i}`, tiers: ['critical'] }],
      },
    }));
    let calls = 0;
    const send = async (batch: readonly DelayedMessage[]) => {
      calls++;
      return batch.filter((m) => m.delaySeconds === 0 || (m.delaySeconds === 1 && calls === 1));
    };

    // Act
    const report = await sendAll(messages, send, noSleep);

    // Assess
    expect(report).toStrictEqual({
      delivered: 2,
      retried: 4,
      failed: ['2026-11-29T12:00:00.000Z+0s (1 requests)'],
    });
    expect(calls).toBe(4);
  });
});

describe('fanOut', () => {
  it('starts every target of a message, retries a throttled invoke, and names the ones it could not start', async () => {
    // Prepare
    const attempts = new Map<string, number>();
    const invoke = async (request: { target: string; scheduledAt: string }) => {
      const n = (attempts.get(request.target) ?? 0) + 1;
      attempts.set(request.target, n);
      if (request.target === 'down' || (request.target === 'busy' && n < 3))
        throw new Error('TooManyRequestsException');
    };

    // Act
    const report = await fanOut(
      {
        scheduledAt: '2026-11-29T12:00:15.000Z',
        requests: [
          { target: 'ok', tiers: ['critical'] },
          { target: 'busy', tiers: ['critical'] },
          { target: 'down', tiers: ['critical'] },
        ],
      },
      invoke,
      noSleep,
    );

    // Assess
    expect(report).toStrictEqual({ delivered: 2, retried: 5, failed: ['down: TooManyRequestsException'] });
    expect(Object.fromEntries(attempts)).toStrictEqual({ ok: 1, busy: 3, down: 4 });
  });
});

describe('parseSlotMessage', () => {
  it('names the field that is wrong', () => {
    expect(() => parseSlotMessage('{"requests": []}')).toThrow(
      'slot message: scheduledAt: expected an ISO-8601 time',
    );
    expect(() => parseSlotMessage('{"scheduledAt": "2026-11-29T12:00:00Z"}')).toThrow(
      'slot message: requests: expected an array',
    );
  });
});
