import { TIER_INTERVAL_SECONDS, TIERS, type Tier } from '../model/metrics.ts';

/**
 * The schedule as a pure function of time: which (target, tiers) are due in each 15-second slot of a minute,
 * and how long after the minute's start each request is delivered. A late or retried dispatcher for the same
 * minute decides exactly the same, so a slot is never collected twice on purpose.
 */

/** Seconds between two slots of a minute: the critical tier's cadence. */
export const SLOT_SECONDS = TIER_INTERVAL_SECONDS.critical;

/** What the schedule needs to know of a target. */
export interface ScheduledTarget {
  readonly name: string;
  /** Per-tier switches (a disabled tier is never requested). */
  readonly tiers: Readonly<Record<Tier, { readonly enabled: boolean }>>;
}

/** One collect request of the minute, with the delay of its delivery. */
export interface SlotRequest {
  readonly target: string;
  readonly tiers: readonly Tier[];
  /** The slot (epoch ms, a multiple of 15 s): the request's `scheduledAt`. */
  readonly scheduledAtMs: number;
  /** Seconds after the minute's start: the slot's offset plus the target's own offset within the slot. */
  readonly delaySeconds: number;
}

/** The tiers due at a slot time: critical every slot, standard each minute, historical every fourth minute. */
export function tiersDueAt(slotMs: number): Tier[] {
  const seconds = Math.floor(slotMs / 1000);
  return TIERS.filter((tier) => seconds % TIER_INTERVAL_SECONDS[tier] === 0);
}

/** FNV-1a over the UTF-16 code units: small, stable across versions and processes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A target's start offset within every slot, in whole seconds in `[0, spreadSeconds]`: a hash of its name, so it
 * does not move when other targets come or go, and starts of a large fleet spread over the slot's first seconds.
 */
export function targetOffsetSeconds(name: string, spreadSeconds: number): number {
  const spread = Math.max(0, Math.min(SLOT_SECONDS - 1, Math.floor(spreadSeconds)));
  return spread === 0 ? 0 : fnv1a(name) % (spread + 1);
}

/**
 * Every request of the 60 seconds starting at `fromMs`, in delivery order: the slots (15-second boundaries) in
 * `[fromMs, fromMs + 60 s)`, each delayed from `fromMs` to its own start plus the target's offset. A rate rule fires
 * at whatever second it was created, so consecutive windows of its scheduled times tile the timeline and every
 * slot falls in exactly one window, whatever that phase.
 * @param spreadSeconds starts of one slot spread over this many seconds (0..14)
 */
export function planWindow(
  targets: readonly ScheduledTarget[],
  fromMs: number,
  spreadSeconds: number,
): SlotRequest[] {
  const slotMs = SLOT_SECONDS * 1000;
  const first = Math.ceil(fromMs / slotMs) * slotMs;
  const out: SlotRequest[] = [];
  for (let at = first; at < fromMs + 60_000; at += slotMs) {
    const due = tiersDueAt(at);
    const base = Math.round((at - fromMs) / 1000);
    for (const target of targets) {
      const tiers = due.filter((tier) => target.tiers[tier].enabled);
      if (tiers.length === 0) continue;
      out.push({
        target: target.name,
        tiers,
        scheduledAtMs: at,
        delaySeconds: base + targetOffsetSeconds(target.name, spreadSeconds),
      });
    }
  }
  return out.sort((a, b) => a.delaySeconds - b.delaySeconds || (a.target < b.target ? -1 : 1));
}

/** The window of the calendar minute containing `minuteMs` (`planWindow` from its first second). */
export function planMinute(
  targets: readonly ScheduledTarget[],
  minuteMs: number,
  spreadSeconds: number,
): SlotRequest[] {
  return planWindow(targets, Math.floor(minuteMs / 60_000) * 60_000, spreadSeconds);
}
