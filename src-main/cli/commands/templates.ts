/** `puma templates list`: the paper's experiment templates that `puma sweep --template` runs. */
import { parseArgs } from 'node:util';
import { DEFAULT_TEMPLATE_SEEDS, TEMPLATES, templateRunCount } from '../../../src-shared/method/templates';
import { CliError } from '../args';

export const TEMPLATES_USAGE = `  puma templates list [--json]              the paper's experiments for puma sweep --template NAME`;

export async function templatesCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'list') throw new CliError(`Unknown 'templates' subcommand '${sub ?? ''}'. Try: puma templates list --json`);
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
  // runs: with the default seeds, as `puma sweep --template NAME` queues them.
  const list = TEMPLATES.map((t) => ({ name: t.name, title: t.title, runs: templateRunCount(t, DEFAULT_TEMPLATE_SEEDS), description: t.description }));
  if (values.json) process.stdout.write(JSON.stringify({ templates: list }) + '\n');
  else {
    console.table(list.map(({ name, title, runs }) => ({ name, title, runs })));
    console.log(`Run one: puma sweep --template NAME [--preset laptop|paper] [--seeds ${DEFAULT_TEMPLATE_SEEDS}] [--set key=value ...]`);
  }
}
