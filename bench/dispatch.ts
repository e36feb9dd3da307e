import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { slotMessages } from '../shared/schedule/dispatch.ts';
import { planMinute, type ScheduledTarget } from '../shared/schedule/plan.ts';

/** What the dispatcher does per minute for a fleet: its own compute, and the AWS calls it makes. */
export interface DispatchBench {
  readonly targets: number;
  /** Median ms to plan a minute and build its messages (the minute with all three tiers due). */
  readonly planMs: number;
  readonly messages: number;
  readonly sendMessageBatchCalls: number;
  /** Async invokes of the collector in the minute (one per target and slot). */
  readonly invokes: number;
  /** Heap the minute's plan and messages hold while they are sent, MB (after a full GC). */
  readonly heapMb: number;
}

/** A full garbage collection, without starting node with `--expose-gc`. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Plans the busiest minute (every tier due) for 1,000 and 10,000 targets, 15 times each. */
export function benchDispatch(sizes: readonly number[] = [1_000, 10_000]): DispatchBench[] {
  const minute = Date.UTC(2026, 10, 29, 12, 0, 0);
  const on = { enabled: true };
  return sizes.map((n) => {
    const targets: ScheduledTarget[] = Array.from({ length: n }, (_, i) => ({
      name: `orders-${String(i).padStart(5, '0')}`,
      tiers: { critical: on, standard: on, historical: on },
    }));
    const times: number[] = [];
    let messages = 0;
    let invokes = 0;
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      const plan = planMinute(targets, minute, 10);
      const out = slotMessages(plan);
      times.push(performance.now() - started);
      messages = out.length;
      invokes = plan.length;
    }
    times.sort((a, b) => a - b);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const plan = planMinute(targets, minute, 10);
    const held = slotMessages(plan);
    collectGarbage();
    const heapMb = Math.round(((process.memoryUsage().heapUsed - before) / 2 ** 20) * 10) / 10;
    if (held.length !== messages) throw new Error('plan changed between runs');
    return {
      targets: n,
      planMs: Math.round((times[7] ?? 0) * 10) / 10,
      messages,
      sendMessageBatchCalls: Math.ceil(messages / 10),
      invokes,
      heapMb,
    };
  });
}
