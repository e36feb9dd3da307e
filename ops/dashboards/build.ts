import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DASHBOARDS, dashboardJson, JSON_DIR } from './dashboards.ts';

/**
 * Writes every dashboard to `ops/dashboards/json/<name>.json`, the files to import into Grafana, and
 * formats them with the repository's Biome so `biome check` passes on them.
 * Run: `node --import tsx ops/dashboards/build.ts`. A test fails when the committed files differ.
 */
await mkdir(JSON_DIR, { recursive: true });
const files: string[] = [];
for (const { name, build } of DASHBOARDS) {
  const file = join(JSON_DIR, `${name}.json`);
  await writeFile(file, dashboardJson(build()));
  files.push(file);
}
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
execFileSync(process.execPath, [biome, 'format', '--write', ...files], { stdio: 'inherit' });
for (const file of files) console.log(`wrote ${file}`);
