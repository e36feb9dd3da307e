import { describe, expect, it } from 'vitest';
import { TIER_INTERVAL_SECONDS, TIERS, type Tier } from '../../../shared/model/metrics.ts';
import {
  planMinute,
  planWindow,
  type ScheduledTarget,
  type SlotRequest,
  targetOffsetSeconds,
  tiersDueAt,
} from '../../../shared/schedule/plan.ts';

const ALL_ON: ScheduledTarget['tiers'] = {
  critical: { enabled: true },
  standard: { enabled: true },
  historical: { enabled: true },
};
const HOUR_MS = 3_600_000;
// A Sunday, 12:00:00 UTC: minute 0 of an hour, so historical runs at :00, :04, :08, ...
const START = Date.UTC(2026, 10, 29, 12, 0, 0);

function fleet(n: number): ScheduledTarget[] {
  return Array.from({ length: n }, (_, i) => ({ name: `db-${String(i).padStart(4, '0')}`, tiers: ALL_ON }));
}

/** Every request of an hour, minute by minute, as a dispatcher would plan them. */
function simulateHour(targets: readonly ScheduledTarget[], spread: number): SlotRequest[] {
  const out: SlotRequest[] = [];
  for (let minute = START; minute < START + HOUR_MS; minute += 60_000)
    out.push(...planMinute(targets, minute, spread));
  return out;
}

describe('tiersDueAt', () => {
  it('is critical every slot, standard each minute, historical every fourth minute', () => {
    expect(tiersDueAt(START)).toStrictEqual(['critical', 'standard', 'historical']);
    expect(tiersDueAt(START + 15_000)).toStrictEqual(['critical']);
    expect(tiersDueAt(START + 60_000)).toStrictEqual(['critical', 'standard']);
    expect(tiersDueAt(START + 240_000)).toStrictEqual(['critical', 'standard', 'historical']);
    expect(tiersDueAt(START + 300_000)).toStrictEqual(['critical', 'standard']);
  });
});

describe('planMinute', () => {
  it.each([1, 10, 1000])(
    'requests every due (target, tier, slot) of an hour exactly once for %i targets',
    (n) => {
      // Prepare
      const targets = fleet(n);

      // Act
      const requests = simulateHour(targets, 10);

      // Assess
      const seen = new Map<string, number>();
      for (const r of requests) {
        for (const tier of r.tiers) {
          const key = `${r.target}|${tier}|${r.scheduledAtMs}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      const expected = new Set<string>();
      for (const t of targets) {
        for (const tier of TIERS) {
          for (let at = START; at < START + HOUR_MS; at += TIER_INTERVAL_SECONDS[tier] * 1000)
            expected.add(`${t.name}|${tier}|${at}`);
        }
      }
      expect(seen.size).toBe(expected.size);
      expect([...seen.keys()].every((k) => expected.has(k))).toBe(true);
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
      expect(expected.size).toBe(n * (240 + 60 + 15));
      // One request per target and slot: the tiers of a slot travel together.
      expect(requests).toHaveLength(n * 240);
    },
  );

  it.each([0, 1, 14, 15, 40, 59])(
    'covers every due slot exactly once when the rule fires at second %i of each minute',
    (phase) => {
      // Prepare: a rate rule fires at the second it was created, every 60 s after.
      const targets = fleet(3);

      // Act
      const requests: SlotRequest[] = [];
      for (let from = START + phase * 1000; from < START + HOUR_MS + phase * 1000; from += 60_000)
        requests.push(...planWindow(targets, from, 5));

      // Assess
      const keys = requests.flatMap((r) => r.tiers.map((tier) => `${r.target}|${tier}|${r.scheduledAtMs}`));
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toHaveLength(3 * (240 + 60 + 15));
      for (const r of requests) expect(r.scheduledAtMs % 15_000).toBe(0);
    },
  );

  it('delays each slot from the window start to the slot plus the target offset', () => {
    const [first] = planWindow([{ name: 'orders-primary', tiers: ALL_ON }], START + 40_000, 0);
    expect(first).toStrictEqual({
      target: 'orders-primary',
      tiers: ['critical'],
      scheduledAtMs: START + 45_000,
      delaySeconds: 5,
    });
  });

  it('decides the same for a retried or late dispatcher of the same minute', () => {
    const targets = fleet(50);
    expect(planMinute(targets, START + 120_000 + 37_000, 10)).toStrictEqual(
      planMinute(targets, START + 120_000, 10),
    );
  });

  it('never requests a disabled tier', () => {
    // Prepare
    const target: ScheduledTarget = {
      name: 'reporting',
      tiers: { ...ALL_ON, critical: { enabled: false } },
    };

    // Act
    const requests = simulateHour([target], 0);

    // Assess
    const tiers = new Set<Tier>(requests.flatMap((r) => r.tiers));
    expect([...tiers].sort()).toStrictEqual(['historical', 'standard']);
    expect(requests).toHaveLength(60);
  });

  it('spreads 1,000 starts of a slot over the spread, each target at the same offset every slot', () => {
    // Act
    const requests = planMinute(fleet(1000), START, 9);

    // Assess
    const perSecond = new Map<number, number>();
    for (const r of requests.filter((x) => x.scheduledAtMs === START))
      perSecond.set(r.delaySeconds, (perSecond.get(r.delaySeconds) ?? 0) + 1);
    expect([...perSecond.keys()].sort((a, b) => a - b)).toStrictEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 1,000 over 10 seconds is 100 a second; a hash spreads them within a third of that.
    expect(Math.max(...perSecond.values())).toBeLessThan(134);
    for (const r of requests) expect(r.delaySeconds % 15).toBe(targetOffsetSeconds(r.target, 9));
    expect(Math.max(...requests.map((r) => r.delaySeconds))).toBeLessThanOrEqual(45 + 9);
  });

  it('keeps a target at its offset when others come or go', () => {
    expect(targetOffsetSeconds('orders-primary', 10)).toBe(targetOffsetSeconds('orders-primary', 10));
    const alone = planMinute([{ name: 'orders-primary', tiers: ALL_ON }], START, 10);
    const crowded = planMinute([...fleet(100), { name: 'orders-primary', tiers: ALL_ON }], START, 10);
    expect(crowded.filter((r) => r.target === 'orders-primary')).toStrictEqual(alone);
  });
});
