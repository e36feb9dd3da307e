import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  type VariableModel,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';

/**
 * The template variables every dashboard shares. pgotel labels each series with `instance` (the target
 * name), `db_cluster` (the target's `cluster`, the target name when unset) and, for per-database values,
 * `database_name`; a Prometheus that also scrapes other jobs has `up` series of its own, hence
 * `db_system="postgresql"` on the lists.
 */

/** Every panel queries the data source chosen in the `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: `${datasource}` is Grafana's variable syntax, not JavaScript's.
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** The series of the selected clusters and targets. */
export const BY_TARGET = 'db_cluster=~"$cluster",instance=~"$target"';
/** The series of the selected databases of the selected targets. */
export const BY_DATABASE = `${BY_TARGET},database_name=~"$database"`;

/** A variable listing the values of one label of one metric: `label_values(metric{matchers}, label)`. */
export interface LabelValuesVariable {
  readonly name: string;
  readonly label: string;
  readonly metric: string;
  readonly matchers: string;
  readonly labelName: string;
}

export const CLUSTER: LabelValuesVariable = {
  name: 'cluster',
  label: 'Cluster',
  metric: 'up',
  matchers: 'db_system="postgresql"',
  labelName: 'db_cluster',
};

export const TARGET: LabelValuesVariable = {
  name: 'target',
  label: 'Target',
  metric: 'up',
  matchers: 'db_system="postgresql",db_cluster=~"$cluster"',
  labelName: 'instance',
};

/** Databases from the standard tier (60 s), which leaves template databases out. */
export const DATABASE: LabelValuesVariable = {
  name: 'database',
  label: 'Database',
  metric: 'postgresql_database_backends',
  matchers: BY_TARGET,
  labelName: 'database_name',
};

/** The variable's query in Grafana's Prometheus syntax. */
export function labelValuesQuery(variable: LabelValuesVariable): string {
  return `label_values(${variable.metric}{${variable.matchers}}, ${variable.labelName})`;
}

/** Multi-value with "All" = `.*`, which also matches a series without the label. */
function labelValues(variable: LabelValuesVariable): QueryVariableBuilder {
  const query = labelValuesQuery(variable);
  return new QueryVariableBuilder(variable.name)
    .label(variable.label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** Data source, cluster and target, plus database for dashboards with per-database panels. */
export function dashboardVariables(perDatabase: boolean): cog.Builder<VariableModel>[] {
  const datasource = new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
  const list: cog.Builder<VariableModel>[] = [datasource, labelValues(CLUSTER), labelValues(TARGET)];
  if (perDatabase) list.push(labelValues(DATABASE));
  return list;
}

/** The variables of `dashboardVariables(perDatabase)`, as typed records (the datasource excluded). */
export function labelValuesVariables(perDatabase: boolean): readonly LabelValuesVariable[] {
  return perDatabase ? [CLUSTER, TARGET, DATABASE] : [CLUSTER, TARGET];
}
