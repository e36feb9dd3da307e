import { describe, expect, it } from 'vitest';
import { parseConfigYaml } from '../../../shared/config/load.ts';
import { BUILTIN_QUERIES } from '../../../shared/queries/catalog.ts';
import { isDue } from '../../../shared/queries/select.ts';
import { planMinute, type ScheduledTarget } from '../../../shared/schedule/plan.ts';

/** Prometheus's (and Amazon Managed Prometheus's) default lookback: an instant query sees the last 5 minutes. */
const LOOKBACK_SECONDS = 300;
const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 10, 29, 0, 0, 0);

/** The scheduled times at which each query runs over a day, for a target with the config's defaults. */
function runsOverADay(intervals: Readonly<Record<string, number>>): Map<string, number[]> {
  const target: ScheduledTarget = {
    name: 'orders',
    tiers: { critical: { enabled: true }, standard: { enabled: true }, historical: { enabled: true } },
  };
  const runs = new Map<string, number[]>();
  for (let minute = START; minute < START + DAY_MS; minute += 60_000) {
    for (const request of planMinute([target], minute, 10)) {
      for (const tier of request.tiers) {
        for (const query of BUILTIN_QUERIES) {
          if (!isDue(query, tier, request.scheduledAtMs, intervals)) continue;
          const at = runs.get(query.name) ?? [];
          at.push(request.scheduledAtMs);
          runs.set(query.name, at);
        }
      }
    }
  }
  return runs;
}

function longestGapSeconds(times: readonly number[]): number {
  let longest = 0;
  for (let i = 1; i < times.length; i++)
    longest = Math.max(longest, ((times[i] ?? 0) - (times[i - 1] ?? 0)) / 1000);
  return longest;
}

describe('fresh data in PromQL with the default schedule', () => {
  it('runs every catalog query at least once a lookback, with a minute to spare', () => {
    // Prepare: the defaults a minimal config gets
    const config = parseConfigYaml('targets: [{ name: orders, dsn: "postgres://u@127.0.0.1/postgres" }]');

    // Act
    const runs = runsOverADay(config.queries.intervals);

    // Assess: every query runs, and no two of its runs are more than 240 s apart (the lookback minus 60 s, which a
    // late dispatcher or a cold start cannot eat), so an instant query always finds its latest sample
    expect([...runs.keys()].sort()).toStrictEqual(BUILTIN_QUERIES.map((q) => q.name).sort());
    const longest = Object.fromEntries([...runs].map(([name, times]) => [name, longestGapSeconds(times)]));
    expect(Math.max(...Object.values(longest))).toBe(240);
    expect(Math.max(...Object.values(longest))).toBeLessThanOrEqual(LOOKBACK_SECONDS - 60);
    expect(longest.index_stats).toBe(240);
    expect(longest.activity).toBe(15);
    expect(longest.database_stats).toBe(60);
  });

  it('shows what a per-query interval above the lookback does: gaps an instant query falls into', () => {
    // Act: the seed's 600 s for index statistics, set by hand
    const runs = runsOverADay({ index_stats: 600 });

    // Assess: up to 720 s between two samples (the first historical run of each 600 s window), over the lookback
    expect(longestGapSeconds(runs.get('index_stats') ?? [])).toBe(720);
  });
});
