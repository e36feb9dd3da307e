#!/usr/bin/env bash
# The test command (`npm test`): setup, type check, lint, then every test with vitest.
# Extra arguments go to vitest, e.g. `npm test -- test/shared/config`.
# Ends with one line, `N passed, N failed[, N skipped]`, computed from reports/vitest.json;
# exits non-zero on any failure or when the report is missing.
# PGOTEL_SKIP_CHECKS=1 skips tsc and biome (for quick local iterations only).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

if [ -z "${PGOTEL_PG_MAJORS:-}" ]; then
  if [ "${CI:-}" = "true" ]; then
    export PGOTEL_PG_MAJORS=13,14,15,16,17,18
  else
    export PGOTEL_PG_MAJORS=18
  fi
fi
echo "test: PostgreSQL majors: $PGOTEL_PG_MAJORS"

if [ "${PGOTEL_SKIP_CHECKS:-}" = "1" ]; then
  echo "test: PGOTEL_SKIP_CHECKS=1: skipping tsc and biome"
else
  echo "test: npx tsc --noEmit"
  npx tsc --noEmit || { echo "test: type check failed" >&2; exit 1; }
  echo "test: npx biome check ."
  npx biome check . || { echo "test: biome check failed (npx biome check --write . fixes most of it)" >&2; exit 1; }
fi

REPORT=reports/vitest.json
mkdir -p reports
rm -f "$REPORT"

set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$REPORT" "$@"
vitest_status=$?
set -e

# Counts come from the report, not from vitest's exit status; a file that failed to load counts as a
# failure, and so does a failing run whose report shows no failed test (e.g. an unhandled error).
REPORT="$REPORT" VITEST_STATUS="$vitest_status" node --input-type=module -e '
import { readFileSync } from "node:fs";
const file = process.env.REPORT;
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  console.log(`test: no usable report at ${file} (${error.message}); vitest exited with ${process.env.VITEST_STATUS}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const results = Array.isArray(report.testResults) ? report.testResults : [];
const passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
for (const result of results) {
  const failedTests = (result.assertionResults ?? []).filter((a) => a.status === "failed").length;
  if (result.status === "failed" && failedTests === 0) {
    console.log(`test: file failed outside its tests: ${result.name}`);
    failed += 1;
  }
}
const status = Number(process.env.VITEST_STATUS);
if (failed === 0 && (status !== 0 || report.success === false)) {
  console.log(`test: vitest exited with ${status} although no test failed (unhandled error or no test files?)`);
  failed = 1;
}
if (passed + failed === 0) {
  console.log("test: the report has no tests");
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ""));
process.exit(failed > 0 ? 1 : 0);
'
