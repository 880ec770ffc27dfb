#!/usr/bin/env node
// The `puma` command. Runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/index.ts');
const { reportCliError } = await import('../src-main/cli/errors.ts');
try {
  await main(process.argv.slice(2));
} catch (err) {
  // One format: `puma: message` (exit 2 for bad input, 1 for a fault of ours); the stack only with --debug.
  process.exit(reportCliError(err));
}
