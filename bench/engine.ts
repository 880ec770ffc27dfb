// Engine benchmark: img/s of forward, one SGD training step, one input gradient (attack step),
// PGD-10 adversarial training, single process and data-parallel (src-main/engine/benchmark.ts).
// Run directly: `npx tsx bench/engine.ts [--backend wasm] [--models cnn-small,resnet18] [--workers N] [--quick]`
// (the same JSON as `puma bench --json`).
import { pathToFileURL } from 'node:url';
import { runEngineBench, type EngineBenchOptions } from '../src-main/engine/benchmark';

export { runEngineBench, type EngineBenchOptions, type EngineBenchResult, type EngineBenchRow } from '../src-main/engine/benchmark';

function parseArgs(argv: string[]): EngineBenchOptions {
  const out: EngineBenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--backend') out.backend = argv[++i];
    else if (a === '--models') out.models = argv[++i]?.split(',').filter(Boolean);
    else if (a === '--workers') out.workers = Number(argv[++i]);
    else throw new Error(`bench/engine.ts: unknown argument '${a}' (expected --backend NAME, --models a,b, --workers N, --quick)`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runEngineBench({ ...parseArgs(process.argv.slice(2)), log: (line) => process.stderr.write(line + '\n') });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
