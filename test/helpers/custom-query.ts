import type { Tier } from '../../shared/model/metrics.ts';
import type { CustomQuerySpec } from '../../shared/queries/custom.ts';

/**
 * A custom query that reads one gauge, `custom.<name>`, from its column `v`: the probe tests
 * use to see what a session saw (a setting, a backend pid) or to make a query fail in a chosen way.
 */
export function gaugeQuery(
  name: string,
  query: string,
  where: {
    readonly tier?: Tier;
    readonly scope?: 'cluster' | 'database';
    /** Columns that become the gauge's attributes. */
    readonly attributes?: readonly string[];
  } = {},
): CustomQuerySpec {
  return {
    name,
    tier: where.tier ?? 'critical',
    scope: where.scope ?? 'cluster',
    query,
    metrics: [
      {
        name: `custom.${name}`,
        value_column: 'v',
        data_type: 'gauge',
        unit: '',
        description: '',
        attributes: (where.attributes ?? []).map((column) => ({ column })),
      },
    ],
  };
}
