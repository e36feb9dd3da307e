// What the collector Lambda imports: the engine, the catalog and both exporters.
export { collect } from '../shared/collect/collect.ts';
export { parseConfig } from '../shared/config/load.ts';
export { exportRun } from '../shared/export/export-run.ts';
export { BUILTIN_QUERIES } from '../shared/queries/catalog.ts';
