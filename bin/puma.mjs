#!/usr/bin/env node
// The `puma` command. Runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/index.ts');
const { CliError } = await import('../src-main/cli/args.ts');
try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliError || err?.name === 'ZodError') {
    process.stderr.write(`puma: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`puma: ${err?.stack ?? err}\n`);
  process.exit(1);
}
