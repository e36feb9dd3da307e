import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { increase, series } from './promql.ts';
import { BY_DATABASE as D, BY_TARGET as T } from './variables.ts';

/** Running vacuums, dead tuples and bloat, vacuum history, and transaction ID (wraparound) ages. */
export function vacuumDashboard(): Dashboard {
  const table = '{{instance}} {{database_name}} {{schema_name}}.{{table_name}}';
  return buildDashboard({
    uid: 'pgotel-vacuum',
    title: 'PostgreSQL / Vacuum and bloat',
    description: 'Dead tuples, bloat, vacuum activity and freezing of the selected databases.',
    perDatabase: true,
    sections: [
      {
        title: 'Vacuum',
        panels: [
          stat({
            title: 'Vacuums running',
            height: 8,
            description: 'Vacuum processes (autovacuum workers included) working in the database now.',
            unit: 'none',
            queries: [
              {
                expr: `sum by (instance) (${series('postgresql_vacuum_running', D)})`,
                legend: '{{instance}}',
              },
            ],
          }),
          stat({
            title: 'Dead rows',
            height: 8,
            description: 'Dead rows of all reported tables (historical tier, every 5 minutes).',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance) (${series('postgresql_table_dead_rows', D)})`,
                legend: '{{instance}}',
              },
            ],
          }),
          stat({
            title: 'Worst wraparound',
            height: 8,
            description:
              'Oldest database `age(datfrozenxid)` over `autovacuum_freeze_max_age`, template databases included.',
            unit: 'percentunit',
            queries: [
              {
                expr: `max by (instance) (${series('postgresql_database_wraparound_ratio', T)})`,
                legend: '{{instance}}',
              },
            ],
            steps: [
              { value: 0.75, color: 'yellow' },
              { value: 1, color: 'red' },
            ],
          }),
          timeSeries({
            title: 'Vacuum progress',
            description: 'Heap blocks scanned over heap blocks of each running vacuum, by phase.',
            unit: 'percentunit',
            queries: [
              {
                expr: `${series('postgresql_vacuum_progress_heap_blocks_scanned', D)} / ${series('postgresql_vacuum_progress_heap_blocks', D)}`,
                legend: '{{instance}} {{database_name}} {{table_name}} {{phase}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Dead tuples and bloat',
        panels: [
          timeSeries({
            title: 'Dead tuples',
            description: 'Tables with more than 1,000 dead tuples, top 10.',
            unit: 'short',
            queries: [{ expr: `topk(10, ${series('postgresql_vacuum_dead_tuples', D)})`, legend: table }],
          }),
          timeSeries({
            title: 'Dead-row share (bloat)',
            description: 'Dead rows as a share of all rows, tables with more than 1,000 dead rows, top 10.',
            unit: 'percent',
            queries: [{ expr: `topk(10, ${series('postgresql_table_bloat_percent', D)})`, legend: table }],
          }),
          timeSeries({
            title: 'Time since last vacuum',
            description:
              'Since the last manual or automatic vacuum, the 10 longest (tables never vacuumed have none).',
            unit: 's',
            queries: [
              { expr: `topk(10, ${series('postgresql_table_last_vacuum_age_seconds', D)})`, legend: table },
            ],
          }),
          timeSeries({
            title: 'Vacuum and analyze runs',
            description: 'Vacuums and analyzes per rate window, manual and automatic.',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance, database_name, vacuum_type) (${increase('postgresql_table_vacuum_total', D)})`,
                legend: '{{instance}} {{database_name}} vacuum ({{vacuum_type}})',
              },
              {
                expr: `sum by (instance, database_name, analyze_type) (${increase('postgresql_table_analyze_total', D)})`,
                legend: '{{instance}} {{database_name}} analyze ({{analyze_type}})',
              },
            ],
          }),
        ],
      },
      {
        title: 'Freezing',
        panels: [
          timeSeries({
            title: 'Wraparound by database',
            description: '`age(datfrozenxid)` over `autovacuum_freeze_max_age`, every database.',
            unit: 'percentunit',
            width: 8,
            queries: [
              {
                expr: series('postgresql_database_wraparound_ratio', T),
                legend: '{{instance}} {{database_name}}',
              },
            ],
          }),
          timeSeries({
            title: 'Oldest tables (transaction ID age)',
            description: 'Tables with the oldest `relfrozenxid` (TOAST included), top 10.',
            unit: 'short',
            width: 8,
            queries: [{ expr: `topk(10, ${series('postgresql_table_xid_age', D)})`, legend: table }],
          }),
          timeSeries({
            title: 'MultiXact ID age',
            description: '`mxid_age(datminmxid)` of every database.',
            unit: 'short',
            width: 8,
            queries: [
              { expr: series('postgresql_database_mxid_age', T), legend: '{{instance}} {{database_name}}' },
            ],
          }),
        ],
      },
    ],
  });
}
