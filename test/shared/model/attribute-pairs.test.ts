import { describe, expect, it } from 'vitest';
import { sortedAttributePairs } from '../../../shared/model/attribute-pairs.ts';

/** The form the cardinality windows' stored identities were computed with before; it must not change. */
function identityBefore(attributes: Readonly<Record<string, string>>): string {
  const keys = Object.keys(attributes).sort();
  const flat: string[] = [];
  for (const key of keys) flat.push(key, attributes[key] ?? '');
  return JSON.stringify(flat);
}

describe('sortedAttributePairs', () => {
  it('sorts the pairs by name whatever the order they were added in', () => {
    expect(
      sortedAttributePairs({ table_name: 't', operation: 'insert', database_name: 'd', schema_name: 's' }),
    ).toEqual(['database_name', 'd', 'operation', 'insert', 'schema_name', 's', 'table_name', 't']);
    expect(sortedAttributePairs({})).toEqual([]);
    expect(sortedAttributePairs({ b: '2', a: '1' })).toEqual(['a', '1', 'b', '2']);
  });

  it('serializes to the identities stored before, byte for byte', () => {
    const sets: Record<string, string>[] = [
      { database_name: 'shop', schema_name: 'public', table_name: 'orders', operation: 'insert' },
      { Z: 'upper first', a: 'lower', _: 'underscore', é: 'accent', '9': 'digit' },
      { table_name: 'we"ird\\name\n', schema_name: '💥', database_name: '' },
      { only: 'one' },
    ];
    for (const attributes of sets) {
      expect(JSON.stringify(sortedAttributePairs(attributes))).toBe(identityBefore(attributes));
    }
  });
});
