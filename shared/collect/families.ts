import { sortedAttributePairs } from '../model/attribute-pairs.ts';
import type { MetricFamily, MetricKind, MetricPoint } from '../model/metrics.ts';
import type { MappedPoint } from './run-query.ts';

interface Slot {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: MetricKind;
  readonly points: MetricPoint[];
  readonly keys: Set<string>;
}

/** The identity of a point's attribute set in its family, whatever the order its attributes were added in. */
function attributeKey(attributes: Readonly<Record<string, string>>): string {
  return sortedAttributePairs(attributes).join('\u0000');
}

/**
 * Collects points into families for one batch. The first definition of a name fixes its kind and unit;
 * a later point that disagrees, or that repeats a series already present, is refused and counted.
 */
export class FamilyBuilder {
  readonly #slots = new Map<string, Slot>();

  /** Adds points; returns the problems found (kind/unit clash, duplicate series), one line per kind of problem. */
  add(points: readonly MappedPoint[]): string[] {
    let duplicates = 0;
    const clashes = new Set<string>();
    for (const { mapping, point } of points) {
      let slot = this.#slots.get(mapping.name);
      if (slot === undefined) {
        slot = {
          name: mapping.name,
          unit: mapping.unit,
          description: mapping.description,
          kind: mapping.kind,
          points: [],
          keys: new Set(),
        };
        this.#slots.set(mapping.name, slot);
      } else if (slot.kind !== mapping.kind || slot.unit !== mapping.unit) {
        clashes.add(`metric ${mapping.name} is already defined as ${slot.kind} in "${slot.unit}"`);
        continue;
      }
      const key = attributeKey(point.attributes);
      if (slot.keys.has(key)) {
        duplicates++;
        continue;
      }
      slot.keys.add(key);
      slot.points.push(point);
    }
    const problems = [...clashes];
    if (duplicates > 0)
      problems.push(`${duplicates} rows repeated a series already collected and were dropped`);
    return problems;
  }

  /** Families in insertion order, empty ones left out. */
  build(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.points.length === 0) continue;
      out.push({
        name: slot.name,
        unit: slot.unit,
        description: slot.description,
        kind: slot.kind,
        points: slot.points,
      });
    }
    return out;
  }
}
